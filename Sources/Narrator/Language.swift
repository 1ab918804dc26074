/// The languages narration is written and spoken in.
public enum Language: String, Sendable, Hashable, Codable, CaseIterable {
    case english = "en"
    case mandarin = "zh"
}
