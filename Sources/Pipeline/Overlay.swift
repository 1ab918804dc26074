import Foundation
import Imaging
import Vision

/// Draws a frame's facts onto the picture, for a sighted helper checking what the assistant
/// understood: the light state in a coloured banner, the crosswalk as an arrow along its heading
/// from where it starts, obstacles in their third of the image with their distance, and the
/// description along the bottom.
public enum Overlay {
    public static func draw(_ facts: SceneFacts, on image: Image, maxWidth: Int = 960) throws(ImagingError) -> Image {
        var canvas = try image.rgb()
        if canvas.width > maxWidth {
            let height = max(1, canvas.height * maxWidth / canvas.width)
            canvas = try canvas.resized(width: maxWidth, height: height)
        } else if canvas.width < 480 {
            let height = max(1, canvas.height * 480 / canvas.width)
            canvas = try canvas.resized(width: 480, height: height, interpolation: .bilinear)
        }
        let w = canvas.width, h = canvas.height
        let scale = Double(w) / 640

        if let light = facts.light {
            let text = "LIGHT: \(light.state.rawValue.uppercased())"
                + (light.kind.map { " (\($0.rawValue))" } ?? "")
                + (light.position.map { " \($0.rawValue)" } ?? "")
                + String(format: "  p=%.2f", light.confidence)
            try canvas.drawLabel(text, at: (8, Int(28 * scale)), scale: 0.7 * scale, color: .white, background: color(of: light.state))
        }

        if let crosswalk = facts.crosswalk, crosswalk.present {
            let startX = switch crosswalk.offset ?? .ahead {
            case .left: w / 4
            case .ahead: w / 2
            case .right: 3 * w / 4
            }
            let radians = (crosswalk.headingDegrees ?? 0) * .pi / 180
            let length = Double(h) * 0.35
            let baseY = h - Int(44 * scale)
            let end = (startX + Int(sin(radians) * length), baseY - Int(cos(radians) * length))
            try canvas.drawArrow(from: (startX, baseY), to: end, color: .yellow, thickness: max(2, Int(4 * scale)))
            let label = String(format: "crosswalk %@ %+.0f deg", (crosswalk.offset ?? .ahead).rawValue, crosswalk.headingDegrees ?? 0)
            try canvas.drawLabel(
                label, at: (max(4, min(w - Int(200 * scale), end.0 - Int(80 * scale))), max(Int(60 * scale), end.1 - Int(12 * scale))),
                scale: 0.5 * scale, color: .black, background: .yellow)
        }

        var rowsUsed: [Position: Int] = [:]
        for obstacle in facts.obstacles {
            let row = rowsUsed[obstacle.position, default: 0]
            rowsUsed[obstacle.position] = row + 1
            let x = switch obstacle.position {
            case .left: 8
            case .ahead: w / 3 + 8
            case .right: 2 * w / 3 + 8
            }
            let y = Int(70 * scale) + row * Int(26 * scale)
            try canvas.drawLabel(
                String(format: "%@ %@ %.2f", obstacle.kind, obstacle.distance.rawValue, obstacle.confidence),
                at: (x, y), scale: 0.55 * scale, color: .white, background: RGB(90, 60, 160))
        }

        if let description = facts.description, !description.isEmpty {
            let ascii = String(description.unicodeScalars.filter { $0.isASCII }.map(Character.init))
            if !ascii.trimmingCharacters(in: .whitespaces).isEmpty {
                try canvas.drawLabel(ascii, at: (8, h - Int(12 * scale)), scale: 0.5 * scale, color: .white, background: .black)
            }
        }
        return canvas
    }

    static func color(of state: LightState) -> RGB {
        switch state {
        case .red: .red
        case .green: RGB(20, 150, 50)
        case .yellow, .flashing: RGB(200, 150, 0)
        case .off, .none: .gray
        case .unknown: RGB(70, 70, 70)
        }
    }
}
