import Vision

/// Every sentence the caption decoder may say (`CaptionTemplates`), as token ids, found by the
/// fact it states: built once per model from its tokenizer, so holding a frame's caption to its
/// facts (`CaptionConstraint`) looks sentences up and allocates nothing.
public struct CaptionGrammar: Sendable {
    /// The sentences' tokens end to end; sentence `i` is `tokens[ranges[i]]`.
    let tokens: [Int32]
    let ranges: [Range<Int>]
    /// Per language (`index(of:)`): a crossing's sentence by side, an obstacle's by kind then
    /// `position · 3 + distance`, a light's by `lightKey`, and "no signal in view". Nil where the
    /// sentence holds a word the vocabulary lacks: the decoder could never write it.
    private let crosswalks: [[Int?]]
    private let obstacles: [[String: [Int?]]]
    private let lights: [[[Int]]]
    private let noSignals: [Int?]

    public init(tokenizer: Tokenizer, obstacleKinds: some Sequence<String>) {
        var tokens: [Int32] = [], ranges: [Range<Int>] = []
        var crosswalks: [[Int?]] = [], obstacles: [[String: [Int?]]] = [], lights: [[[Int]]] = [], noSignals: [Int?] = []
        let kinds = Array(obstacleKinds)
        for language in [Language.english, .mandarin] {
            let mandarin = language == .mandarin
            var known: [String: Int] = [:]
            func id(_ sentence: String) -> Int? {
                if let id = known[sentence] { return id }
                let ids = tokenizer.encode(sentence, language: language)
                guard !ids.isEmpty, !ids.contains(tokenizer.unknownID) else { return nil }
                ranges.append(tokens.count..<(tokens.count + ids.count))
                tokens += ids
                known[sentence] = ranges.count - 1
                return ranges.count - 1
            }
            crosswalks.append(Position.allCases.map { id(CaptionTemplates.crosswalk($0, mandarin: mandarin)) })
            var byKind: [String: [Int?]] = [:]
            for kind in kinds {
                byKind[kind] = Position.allCases.flatMap { position in
                    Distance.allCases.map { distance in
                        CaptionTemplates.obstacle(kind: kind, position: position, distance: distance, mandarin: mandarin).flatMap(id)
                    }
                }
            }
            obstacles.append(byKind)
            var byLight: [[Int]] = []
            for state in LightState.allCases {
                for kind in LightKind.allCases {
                    for position in Position.allCases {
                        byLight.append(CaptionTemplates.light(state, kind: kind, position: position, mandarin: mandarin).compactMap(id))
                    }
                }
            }
            lights.append(byLight)
            noSignals.append(id(CaptionTemplates.noSignal(mandarin: mandarin)))
        }
        self.tokens = tokens
        self.ranges = ranges
        self.crosswalks = crosswalks
        self.obstacles = obstacles
        self.lights = lights
        self.noSignals = noSignals
    }

    /// How many sentences the grammar holds, both languages.
    public var count: Int { ranges.count }

    /// Sentence `id`'s tokens.
    public func sentence(_ id: Int) -> ArraySlice<Int32> { tokens[ranges[id]] }

    public func crosswalk(_ offset: Position, _ language: Language) -> Int? {
        crosswalks[Self.index(of: language)][Self.index(of: offset)]
    }

    /// Nil for a kind the grammar was not built with.
    public func obstacle(kind: String, position: Position, distance: Distance, _ language: Language) -> Int? {
        guard let byPlace = obstacles[Self.index(of: language)][kind] else { return nil }
        return byPlace[Self.index(of: position) * Distance.allCases.count + Self.index(of: distance)]
    }

    /// The light's sentences (none for `.none`; see `noSignal`); a missing kind reads as
    /// pedestrian and a missing side as ahead, as captions.py defaults them.
    public func light(_ state: LightState, kind: LightKind?, position: Position?, _ language: Language) -> [Int] {
        let k = kind.map(Self.index(of:)) ?? Self.index(of: LightKind.pedestrian)
        let p = position.map(Self.index(of:)) ?? Self.index(of: Position.ahead)
        let key = (Self.index(of: state) * LightKind.allCases.count + k) * Position.allCases.count + p
        return lights[Self.index(of: language)][key]
    }

    public func noSignal(_ language: Language) -> Int? { noSignals[Self.index(of: language)] }

    static func index(of language: Language) -> Int { language == .english ? 0 : 1 }
    static func index<T: CaseIterable & Equatable>(of value: T) -> Int {
        T.allCases.firstIndex(of: value).map { T.allCases.distance(from: T.allCases.startIndex, to: $0) }!
    }
}

/// Holds one caption to the sentences its frame's facts allow, while it is decoded
/// (training/lttw/caption_constraint.py is the reference, step for step):
///
/// - every sentence of the caption is an allowed one, each at most once, in the order the
///   decoder prefers; within a sentence a token is allowed when an unsaid allowed sentence
///   continues the sentence so far with it;
/// - <eos> is allowed only between sentences, once one has been said (or when none can be);
/// - where the length limit cuts a sentence, the caption ends at its last whole sentence.
///
/// The decoder's own log-probabilities are left as they are: a caption that already says only
/// the facts decodes exactly as without the constraint. One per stream, sized once; filling and
/// asking allocate nothing.
public final class CaptionConstraint {
    public let grammar: CaptionGrammar
    /// The allowed sentences (grammar ids), at most `capacity`.
    private let allowed: UnsafeMutableBufferPointer<Int>
    public private(set) var count = 0
    /// Which tokens may come next, per `allowedTokens(after:endID:)`.
    private let mask: UnsafeMutableBufferPointer<Bool>

    /// Sentences one frame may allow: the light's two, the crossing's, no-signal, and obstacles
    /// well past the expert's slots. (The mask that tracks which were said is 64 bits wide.)
    public static let capacity = 64

    public init(grammar: CaptionGrammar, vocabularySize: Int) {
        self.grammar = grammar
        allowed = .allocate(capacity: Self.capacity)
        allowed.initialize(repeating: 0)
        mask = .allocate(capacity: vocabularySize)
        mask.initialize(repeating: false)
    }

    deinit {
        allowed.deallocate()
        mask.deallocate()
    }

    /// Allows nothing yet.
    public func removeAll() { count = 0 }

    /// Allows sentence `id` (nil, a repeat, or one past `capacity` is ignored: a sentence never
    /// allowed can only be left unsaid).
    public func allow(_ id: Int?) {
        guard let id, count < Self.capacity else { return }
        for i in 0..<count where allowed[i] == id { return }
        allowed[count] = id
        count += 1
    }

    /// The allowed sentences (grammar ids), in the order allowed.
    public var sentences: UnsafeBufferPointer<Int> { UnsafeBufferPointer(rebasing: allowed[0..<count]) }

    /// The tokens allowed after `prefix` (the caption's tokens so far, prompt excluded), as a mask
    /// over the vocabulary, valid until the next call; never all false (<eos> when nothing else fits).
    public func allowedTokens(after prefix: UnsafeBufferPointer<Int32>, endID: Int32) -> UnsafeBufferPointer<Bool> {
        mask.update(repeating: false)
        let (used, start) = parse(prefix)
        let partial = prefix.count - start
        var any = false
        for k in 0..<count where used & (1 << k) == 0 {
            let range = grammar.ranges[allowed[k]]
            guard range.count > partial else { continue }
            var matches = true
            for j in 0..<partial where grammar.tokens[range.lowerBound + j] != prefix[start + j] {
                matches = false
                break
            }
            if matches {
                mask[Int(grammar.tokens[range.lowerBound + partial])] = true
                any = true
            }
        }
        if partial == 0 && (used != 0 || !any) || !any { mask[Int(endID)] = true }
        return UnsafeBufferPointer(mask)
    }

    /// How many of `tokens` (a decoded caption) to keep: all when it ends in <eos>, else up to the
    /// end of its last whole sentence.
    public func wholeSentenceCount(of tokens: UnsafeBufferPointer<Int32>, endID: Int32) -> Int {
        if let last = tokens.last, last == endID { return tokens.count }
        return parse(tokens).start
    }

    /// The allowed sentences `prefix` says in full (a bit per `allowed` index), and where its
    /// unfinished sentence starts.
    private func parse(_ prefix: UnsafeBufferPointer<Int32>) -> (used: UInt64, start: Int) {
        var used: UInt64 = 0
        var i = 0
        while i < prefix.count {
            var found = false
            for k in 0..<count where used & (1 << k) == 0 {
                let range = grammar.ranges[allowed[k]]
                guard range.count <= prefix.count - i else { continue }
                var matches = true
                for j in 0..<range.count where grammar.tokens[range.lowerBound + j] != prefix[i + j] {
                    matches = false
                    break
                }
                if matches {
                    used |= 1 << k
                    i += range.count
                    found = true
                    break
                }
            }
            if !found { break }
        }
        return (used, i)
    }
}
