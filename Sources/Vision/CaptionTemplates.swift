/// The sentences the caption decoder was taught, one per fact, in English and Mandarin: the
/// templates of training/lttw/captions.py, word for word. The caption guard keeps a decoded
/// sentence only when it is one of these for the frame's facts, and the caption constraint lets
/// the decoder say nothing else.
public enum CaptionTemplates {
    /// The sentence for a crossing in view on side `offset`.
    public static func crosswalk(_ offset: Position, mandarin: Bool) -> String {
        switch offset {
        case .left: mandarin ? "前方人行横道，略偏左。" : "Crosswalk ahead, slightly left."
        case .ahead: mandarin ? "前方人行横道。" : "Crosswalk ahead."
        case .right: mandarin ? "前方人行横道，略偏右。" : "Crosswalk ahead, slightly right."
        }
    }

    /// The sentence for an obstacle of `kind` (a model label; nil for a kind the captions do not
    /// name) at `position` and `distance`.
    public static func obstacle(kind: String, position: Position, distance: Distance, mandarin: Bool) -> String? {
        if mandarin {
            guard let name = ObstacleNames.mandarin[kind] else { return nil }
            let tail = switch distance { case .near: "，很近"; case .mid: ""; case .far: "，较远" }
            return "\(side(position))有\(name)\(tail)。"
        }
        guard let name = ObstacleNames.english[kind] else { return nil }
        let tail = switch distance { case .near: ", close"; case .mid: ""; case .far: ", far" }
        return "\(name) \(place(position))\(tail)."
    }

    /// The sentences for a light: "Wait." and the state for red and yellow, "Walk signal on." and
    /// the state for a green pedestrian signal, "Signal unclear." when unknown, the state alone
    /// otherwise; none for `.none` (see `noSignal`). A missing kind reads as pedestrian and a
    /// missing side as ahead, as captions.py defaults them.
    public static func light(_ state: LightState, kind: LightKind?, position: Position?, mandarin: Bool) -> [String] {
        let kind = kind ?? .pedestrian, position = position ?? .ahead
        if mandarin {
            let noun = kind == .pedestrian ? "行人信号灯" : "交通信号灯"
            let lamp = "\(side(position))\(noun)"
            switch state {
            case .red: return ["等待。", "\(lamp)红灯。"]
            case .yellow: return ["等待。", "\(lamp)黄灯。"]
            case .unknown: return ["信号不清。"]
            case .green: return kind == .pedestrian ? ["步行信号亮。", "\(lamp)绿灯。"] : ["\(lamp)绿灯。"]
            case .off: return ["\(lamp)熄灭。"]
            case .flashing: return ["\(lamp)闪烁。"]
            case .none: return []
            }
        }
        let noun = kind == .pedestrian ? "pedestrian signal" : "traffic light"
        let place = place(position)
        switch state {
        case .red: return ["Wait.", "Red \(noun) \(place)."]
        case .yellow: return ["Wait.", "Yellow \(noun) \(place)."]
        case .unknown: return ["Signal unclear."]
        case .green: return kind == .pedestrian ? ["Walk signal on.", "Green \(noun) \(place)."] : ["Green \(noun) \(place)."]
        case .off: return ["Signal dark \(place)."]
        case .flashing: return ["Signal flashing \(place)."]
        case .none: return []
        }
    }

    /// What a caption says when no signal is in view.
    public static func noSignal(mandarin: Bool) -> String { mandarin ? "未见信号灯。" : "No signal in view." }

    static func place(_ position: Position) -> String {
        switch position {
        case .left: "on your left"
        case .ahead: "ahead"
        case .right: "on your right"
        }
    }

    static func side(_ position: Position) -> String {
        switch position {
        case .left: "左侧"
        case .ahead: "前方"
        case .right: "右侧"
        }
    }
}
