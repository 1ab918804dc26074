import Fusion
import Vision

/// Puts messages into words, in the manner of accessible pedestrian signals: short, the same
/// words every time, the instruction ("Wait.") before the detail.
///
/// Nothing here may ever tell the wearer a crossing is safe: the device sees a signal, not the
/// traffic. The English and Mandarin wording follows the training captions
/// (training/lttw/captions.py) so that the decoder and the policy speak alike.
public struct Phrasebook: Sendable, Hashable {
    public var language: Language
    public var directions: DirectionStyle

    public init(language: Language, directions: DirectionStyle = .relative) {
        self.language = language
        self.directions = directions
    }

    public func text(for message: Message) -> String {
        switch language {
        case .english: english(message)
        case .mandarin: mandarin(message)
        }
    }

    /// The message's text with the seconds a countdown shows, when it is a red or green light
    /// and the seconds are known: "Walk signal on, 12 seconds." / "步行信号亮，还有十二秒。".
    /// Any other message, or no seconds, reads as `text(for:)`.
    public func text(for message: Message, secondsLeft: Int?) -> String {
        let sentence = text(for: message)
        guard let seconds = secondsLeft, seconds > 0, case let .light(status, _) = message, status == .green || status == .red
        else { return sentence }
        switch language {
        case .english: return sentence.dropLast() + (seconds == 1 ? ", 1 second." : ", \(seconds) seconds.")
        case .mandarin: return sentence.dropLast() + "，还有" + Self.mandarinCount(seconds) + "秒。"
        }
    }

    // MARK: - English

    private func english(_ message: Message) -> String {
        switch message {
        case .ready:
            return "Ready."
        case .cameraBlocked:
            return "Camera blocked."
        case .cameraLost:
            return "Camera lost."
        case .cameraBack:
            return "Camera back."
        case let .light(status, kind):
            return englishLight(status, kind)
        case let .crosswalk(position):
            switch directions {
            case .relative:
                // The captions' and the facts' wording: a crossing in the left third of the view is
                // ahead and slightly left, not "on your left" (a quarter turn away).
                return CaptionTemplates.crosswalk(position, mandarin: false)
            case .clockFace:
                return "Crosswalk at \(Self.hour(of: position)) o'clock."
            }
        case let .turn(turn):
            switch turn {
            case .slightlyLeft: return "Turn slightly left."
            case .left: return "Turn left."
            case .slightlyRight: return "Turn slightly right."
            case .right: return "Turn right."
            case let .towards(hour): return "Turn to \(hour) o'clock."
            }
        case let .obstacle(kind, position, distance):
            let name = ObstacleNames.english[kind] ?? Self.englishFallbackName(kind)
            let place: String =
                switch directions {
                case .relative: ["left": "on your left", "ahead": "ahead", "right": "on your right"][position.rawValue]!
                case .clockFace: "at \(Self.hour(of: position)) o'clock"
                }
            let tail = ["near": ", close", "mid": "", "far": ", far"][distance.rawValue]!
            return "\(name) \(place)\(tail)."
        case let .description(text):
            return text
        }
    }

    private func englishLight(_ status: LightStatus, _ kind: LightKind) -> String {
        switch (status, kind) {
        case (.green, .pedestrian): "Walk signal on."
        case (.green, .vehicle): "Traffic light green."
        case (.red, .pedestrian): "Wait."
        case (.red, .vehicle): "Wait. Traffic light red."
        case (.yellow, _): "Wait. Signal yellow."
        case (.flashing, _): "Signal flashing. Do not start crossing."
        case (.off, _): "Signal dark."
        case (.none, _): "No signal in view."
        case (.unclear, _): "Signal unclear."
        case (.noColour, _): "Signal unclear. The camera sees no colour."
        case (.changing, _): "Signal changing."
        }
    }

    /// A label the phrasebook does not know yet is read as it is, so a new obstacle class is
    /// still announced (in English it reads well enough; Mandarin says "obstacle").
    private static func englishFallbackName(_ kind: String) -> String {
        let words = String(kind.map { $0 == "_" ? " " : $0 })
        return words.prefix(1).uppercased() + words.dropFirst()
    }

    // MARK: - Mandarin (Chinese characters; the speech layer converts them to pinyin)

    private func mandarin(_ message: Message) -> String {
        switch message {
        case .ready:
            return "准备好了。"
        case .cameraBlocked:
            return "摄像头被挡住。"
        case .cameraLost:
            return "摄像头断开了。"
        case .cameraBack:
            return "摄像头恢复了。"
        case let .light(status, kind):
            return mandarinLight(status, kind)
        case let .crosswalk(position):
            switch directions {
            case .relative:
                return CaptionTemplates.crosswalk(position, mandarin: true)
            case .clockFace:
                return "\(Self.mandarinHour(Self.hour(of: position)))方向有人行横道。"
            }
        case let .turn(turn):
            switch turn {
            case .slightlyLeft: return "稍微向左转。"
            case .left: return "向左转。"
            case .slightlyRight: return "稍微向右转。"
            case .right: return "向右转。"
            case let .towards(hour): return "转向\(Self.mandarinHour(hour))方向。"
            }
        case let .obstacle(kind, position, distance):
            let name = ObstacleNames.mandarin[kind] ?? "障碍物"
            let place: String =
                switch directions {
                case .relative: ["left": "左侧", "ahead": "前方", "right": "右侧"][position.rawValue]!
                case .clockFace: Self.mandarinHour(Self.hour(of: position)) + "方向"
                }
            let tail = ["near": "，很近", "mid": "", "far": "，较远"][distance.rawValue]!
            return "\(place)有\(name)\(tail)。"
        case let .description(text):
            return text
        }
    }

    private func mandarinLight(_ status: LightStatus, _ kind: LightKind) -> String {
        switch (status, kind) {
        case (.green, .pedestrian): "步行信号亮。"
        case (.green, .vehicle): "交通信号灯绿灯。"
        case (.red, .pedestrian): "等待。"
        case (.red, .vehicle): "等待。交通信号灯红灯。"
        case (.yellow, _): "等待。信号灯黄灯。"
        case (.flashing, _): "信号灯闪烁。不要开始过马路。"
        case (.off, _): "信号灯熄灭。"
        case (.none, _): "未见信号灯。"
        case (.unclear, _): "信号不清。"
        case (.noColour, _): "信号不清。画面没有颜色。"
        case (.changing, _): "信号正在变化。"
        }
    }

    // MARK: - Clock face

    /// Left, ahead and right of the image as clock hours (see `DirectionStyle.clockFace`).
    static func hour(of position: Position) -> Int {
        switch position {
        case .left: 11
        case .ahead: 12
        case .right: 1
        }
    }

    /// A heading in degrees (negative to the left) as the nearest clock hour, 12 straight ahead.
    static func hour(ofHeading degrees: Double) -> Int {
        let hours = Int((degrees / 30).rounded())
        let hour = ((hours % 12) + 12) % 12
        return hour == 0 ? 12 : hour
    }

    /// A count of 1…99 in characters, as it is said ("两秒", "十二秒", "二十二秒"), so the speech
    /// layer reads it as a number in Mandarin rather than digit by digit.
    static func mandarinCount(_ n: Int) -> String {
        let digits = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"]
        let n = min(max(n, 1), 99)
        if n == 2 { return "两" }
        if n < 10 { return digits[n] }
        return (n >= 20 ? digits[n / 10] : "") + "十" + digits[n % 10]
    }

    /// "十一点钟", with 两 for two as spoken Mandarin says it.
    static func mandarinHour(_ hour: Int) -> String {
        let digits = ["", "一", "两", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]
        return digits[min(max(hour, 1), 12)] + "点钟"
    }
}
