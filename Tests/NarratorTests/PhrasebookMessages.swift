import Fusion
import Narrator
import Vision

/// Every message the policy can hand the phrasebook: for tests that check all of its sentences.
enum PhrasebookMessages {
    /// Obstacle kinds of the model's label set, and one it does not know (said generically).
    static let obstacleKinds = ["car", "bicycle", "scooter", "person", "pole", "bollard", "cone", "bin", "tree", "sign", "other", "wheelie_bin"]

    static let all: [Message] = {
        var messages: [Message] = [.ready, .cameraBlocked, .cameraLost, .cameraBack]
        for status in LightStatus.allCases {
            for kind in LightKind.allCases {
                messages.append(.light(status, kind))
            }
        }
        for position in Position.allCases {
            messages.append(.crosswalk(position))
            for distance in Distance.allCases {
                for kind in obstacleKinds {
                    messages.append(.obstacle(kind: kind, position: position, distance: distance))
                }
            }
        }
        messages += [.turn(.left), .turn(.slightlyLeft), .turn(.right), .turn(.slightlyRight)]
        messages += (1...12).map { .turn(.towards(hour: $0)) }
        return messages
    }()
}
