import Foundation

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

    /// Reads tokenizer.json from a model folder.
    public init(contentsOf url: URL) throws(TokenizerError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .unreadable(url.path, "\(error)") }
        struct File: Decodable { var vocab: [String] }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw .unreadable(url.path, "not a tokenizer file: \(error)")
        }
        do { try self.init(vocabulary: file.vocab) } catch { throw error.located(at: url.path) }
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
