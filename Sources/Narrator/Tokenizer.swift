import Foundation
import ModelArtifact

/// The decoder's vocabulary: English split into words, digits and punctuation; Mandarin into
/// characters; one shared list. The rules are training/lttw/tokenizer.py's, which wrote the file.
public struct Tokenizer: Sendable {
    public let vocabulary: [String]
    public let padID: Int32
    public let beginID: Int32
    public let endID: Int32
    public let unknownID: Int32
    private let languageIDs: [Language: Int32]
    /// Built once, so starting a caption does not allocate.
    private let prompts: [Language: [Int32]]
    private let index: [String: Int32]
    /// Ids below this are special tokens, never spoken.
    private let specialCount: Int

    static let specialTokens = ["<pad>", "<bos>", "<eos>", "<unk>", "<en>", "<zh>"]
    /// Punctuation written straight after the previous English word.
    static let noSpaceBefore: Set<String> = [".", ",", "!", "?", ";", ":"]

    /// Builds a tokenizer from a vocabulary whose first entries are the special tokens, in order.
    public init(vocabulary: [String]) throws(TokenizerError) {
        guard vocabulary.count > Self.specialTokens.count,
              Array(vocabulary.prefix(Self.specialTokens.count)) == Self.specialTokens
        else {
            throw .badVocabulary("the vocabulary must start with \(Self.specialTokens.joined(separator: " "))")
        }
        var index: [String: Int32] = [:]
        for (i, token) in vocabulary.enumerated() {
            guard index[token] == nil else { throw .badVocabulary("token \"\(token)\" appears twice") }
            index[token] = Int32(i)
        }
        self.vocabulary = vocabulary
        self.index = index
        self.padID = 0
        self.beginID = 1
        self.endID = 2
        self.unknownID = 3
        self.languageIDs = [.english: 4, .mandarin: 5]
        self.prompts = [.english: [1, 4], .mandarin: [1, 5]]
        self.specialCount = Self.specialTokens.count
    }

    /// The largest tokenizer.json read (the shipped one is 2 KB; a 250k-token vocabulary is a
    /// few MB).
    public static let maxFileBytes = 16 << 20

    /// Reads tokenizer.json from a model folder: a regular file (a FIFO or device is refused
    /// before any read), strict JSON (duplicate keys refused), and, when the file lists
    /// `special_tokens` and `languages`, ids and names that agree with the vocabulary and with
    /// the ids this engine uses, so an id outside the vocabulary can never reach the decoder.
    public init(contentsOf url: URL) throws(TokenizerError) {
        let path = url.path
        let bytes: [UInt8]
        do { bytes = try RegularFile.read(path, limit: Self.maxFileBytes) } catch { throw .unreadable(path, error.reason) }
        try self.init(json: bytes, path: path)
    }

    /// Checks and reads the bytes of a tokenizer.json read from `path` (named in every error).
    public init(json bytes: [UInt8], path: String) throws(TokenizerError) {
        let tree: JSONValue
        do { tree = try StrictJSON.parse(bytes) } catch { throw .unreadable(path, "not valid JSON: \(error)") }
        guard case .array(let entries)? = tree["vocab"] else {
            throw .unreadable(path, "not a tokenizer file: no \"vocab\" array")
        }
        var vocabulary: [String] = []
        vocabulary.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            guard case .string(let token) = entry else {
                throw .badFile(path, "vocab[\(index)] is \(entry.kindName), not a string")
            }
            vocabulary.append(token)
        }
        do { try self.init(vocabulary: vocabulary) } catch { throw error.located(at: path) }
        try checkDeclaredIDs(tree, path: path)
    }

    /// Checks `special_tokens` ({name: id}) and `languages` ({code: token}) against the ids the
    /// engine hard-codes; absent sections (older files) are not required.
    private func checkDeclaredIDs(_ tree: JSONValue, path: String) throws(TokenizerError) {
        if let special = tree["special_tokens"] {
            guard case .object(let members) = special else {
                throw .badFile(path, "special_tokens is \(special.kindName), not an object of token ids")
            }
            for member in members {
                guard let expected = Self.specialTokens.firstIndex(of: member.key) else {
                    throw .badFile(path, "special_tokens names \"\(member.key)\", which is not one of \(Self.specialTokens.joined(separator: " "))")
                }
                guard case .number(let text) = member.value, let id = Double(text), id.rounded() == id else {
                    throw .badFile(path, "special token \(member.key) has id \(member.value.shortText), not a whole number")
                }
                guard id >= 0, id < Double(count) else {
                    throw .badFile(path, "special token \(member.key) has id \(text), outside the vocabulary of \(count) tokens")
                }
                guard Int(id) == expected else {
                    throw .badFile(path, "special token \(member.key) has id \(text), but the vocabulary holds it at \(expected)")
                }
            }
        }
        if let languages = tree["languages"] {
            guard case .object(let members) = languages else {
                throw .badFile(path, "languages is \(languages.kindName), not an object")
            }
            for member in members {
                guard let language = Language(rawValue: member.key) else { continue }
                let token = vocabulary[Int(languageID(language))]
                guard member.value == .string(token) else {
                    throw .badFile(path, "languages.\(member.key) is \(member.value.shortText), but the engine prompts \(member.key) with \(token)")
                }
            }
        }
    }

    public var count: Int { vocabulary.count }

    public func languageID(_ language: Language) -> Int32 { languageIDs[language]! }

    /// The tokens of `text`, without the <bos>/<lang>/<eos> frame.
    public func encode(_ text: String, language: Language) -> [Int32] {
        pieces(of: text, language: language).map { index[$0] ?? unknownID }
    }

    /// The prompt the decoder starts from: <bos> <lang>.
    public func prompt(_ language: Language) -> [Int32] { prompts[language]! }

    /// Text from generated ids: stops at <eos>, drops special tokens, joins by the language's rule.
    public func decode(_ ids: some Sequence<Int32>, language: Language) -> String {
        var text = ""
        for id in ids {
            if id == endID { break }
            guard id >= specialCount, Int(id) < vocabulary.count else { continue }
            let token = vocabulary[Int(id)]
            if language == .english, !text.isEmpty, !Self.noSpaceBefore.contains(token) { text += " " }
            text += token
        }
        return text
    }

    /// English: runs of ASCII letters, runs of digits, and any other single non-space character.
    /// Mandarin: every non-space Unicode scalar.
    func pieces(of text: String, language: Language) -> [String] {
        var pieces: [String] = []
        var run = ""
        var runIsLetters = false
        func flush() {
            if !run.isEmpty { pieces.append(run) }
            run = ""
        }
        for scalar in text.unicodeScalars {
            if scalar.properties.isWhitespace { flush(); continue }
            guard language == .english else { pieces.append(String(scalar)); continue }
            let isLetter = scalar.isASCII && (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar))
            let isDigit = scalar.isASCII && ("0"..."9").contains(scalar)
            if isLetter || isDigit {
                if !run.isEmpty && runIsLetters != isLetter { flush() }
                runIsLetters = isLetter
                run.unicodeScalars.append(scalar)
            } else {
                flush()
                pieces.append(String(scalar))
            }
        }
        flush()
        return pieces
    }
}

public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    case unreadable(String, String)
    case badVocabulary(String)
    case badFile(String, String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "\(path): \(reason)"
        case .badVocabulary(let reason): "bad vocabulary: \(reason)"
        case .badFile(let path, let reason): "\(path): bad vocabulary: \(reason)"
        }
    }

    func located(at path: String) -> TokenizerError {
        if case .badVocabulary(let reason) = self { return .badFile(path, reason) }
        return self
    }
}
