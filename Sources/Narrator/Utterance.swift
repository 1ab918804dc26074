import Fusion
import Vision

/// How much an utterance matters. The speech queue speaks higher priorities first.
public enum UtterancePriority: Int, Sendable, Hashable, Comparable, CaseIterable {
    /// Descriptions and other context.
    case info
    /// Crosswalk position and alignment cues.
    case guidance
    /// The signal's state.
    case signal
    /// What the wearer must hear before anything else: the camera is lost, walk is withdrawn,
    /// something is right in front of them.
    case danger

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What an utterance is about. The policy says one thing per topic once, and again only when it
/// changes or after that topic's cool-down.
public enum UtteranceTopic: Sendable, Hashable {
    case camera
    case light
    case crosswalk
    case alignment
    case obstacle(kind: String, position: Position)
    case description
}

/// What is said, before it is put into words: the policy decides in messages and the phrasebook
/// words them in the narration language, so both languages always say the same thing.
public enum Message: Sendable, Hashable {
    /// The daemon has started and is watching (said once at start, so the wearer knows).
    case ready
    /// No fresh frame (safety rule 2: the light is not spoken about, the loss is).
    case cameraBlocked
    /// No fresh frame because the camera itself is gone (unplugged, failed); the daemon says this
    /// instead of `cameraBlocked` when it knows, since the wearer's remedy differs.
    case cameraLost
    /// Fresh frames again after the camera was blocked or lost: said once, so that a street with
    /// nothing to announce is not taken for a camera still gone (or for speech that died).
    case cameraBack
    case light(LightStatus, LightKind)
    /// A crosswalk is in view at this position.
    case crosswalk(Position)
    /// Turn towards the crosswalk's heading.
    case turn(Turn)
    case obstacle(kind: String, position: Position, distance: Distance)
    /// A caption, already filtered (see `NarrationPolicy.describe(_:)`).
    case description(String)
}

/// One thing to say.
public struct Utterance: Sendable, Hashable {
    public var message: Message
    public var text: String
    public var language: Language
    public var priority: UtterancePriority
    public var topic: UtteranceTopic
    /// Stop what is being spoken and drop what is queued, where this makes it out of date
    /// (`supersedes`): the wearer must hear this now (walk withdrawn, camera lost, danger ahead).
    public var interrupts: Bool
    /// The countdown seconds the text was worded with (`nil`: none), so that whatever speaks it
    /// later can tell a count that has ticked down since (the seconds are text, not message).
    public var secondsLeft: Int?
    /// The time of the tracked scene it was made from (`nil`: not about the street, "ready"), so
    /// that whatever speaks it later can tell how old what it says is.
    public var sceneTime: Double?

    public init(
        message: Message, text: String, language: Language, priority: UtterancePriority, topic: UtteranceTopic, interrupts: Bool,
        secondsLeft: Int? = nil, sceneTime: Double? = nil
    ) {
        self.message = message
        self.text = text
        self.language = language
        self.priority = priority
        self.topic = topic
        self.interrupts = interrupts
        self.secondsLeft = secondsLeft
        self.sceneTime = sceneTime
    }

    /// Whether this utterance, interrupting, makes `other` out of date: `other` is less urgent,
    /// or as urgent and on the same topic. Two equally urgent topics (a walk withdrawn, a person
    /// close ahead) must both be heard, so neither supersedes the other.
    public func supersedes(_ other: Utterance) -> Bool {
        other.priority < priority || (other.priority == priority && other.topic == topic)
    }
}

/// An alignment cue, bucketed so that a heading wobbling inside one bucket is one message.
public enum Turn: Sendable, Hashable {
    case slightlyLeft, left, slightlyRight, right
    /// Clock-face form: turn to face this hour (1…12).
    case towards(hour: Int)
}
