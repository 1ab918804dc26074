/// A JSON value as written, numbers kept as their text so that a reader can say "192.5" or
/// "1e30" rather than what a Double made of them.
public indirect enum JSONValue: Sendable, Equatable {
    case object([JSONMember])
    case array([JSONValue])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    /// The member `key` of an object; nil for a missing key or a value that is not an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The value for a message: numbers as written, strings quoted, containers by kind.
    public var shortText: String {
        switch self {
        case .number(let text): text
        case .string(let text): "\"\(text.count > 40 ? text.prefix(40) + "…" : text)\""
        case .bool(let value): "\(value)"
        default: kindName
        }
    }

    /// What the value is, in words, for messages ("a string", "an array").
    public var kindName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "true or false"
        case .null: "null"
        }
    }
}

/// One `"key": value` pair of an object, with the line it starts on.
public struct JSONMember: Sendable, Equatable {
    public let key: String
    public let value: JSONValue
    public let line: Int
}

/// Where and why a text is not strict JSON.
public struct StrictJSONError: Error, Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public let problem: String

    public var description: String { "line \(line), column \(column): \(problem)" }
}

/// A strict RFC 8259 parser that also refuses what JSON allows but readers disagree on.
///
/// Foundation's `JSONDecoder` and `JSONSerialization` silently keep one of two members with the
/// same key, and Python's `json` keeps the other, so a config.json with `"green"` twice means
/// different things to the trainer and to the device; here a duplicate key (compared as Swift
/// compares dictionary keys, so canonically equivalent spellings collide too) is an error with
/// both lines. Nesting is capped (`maxDepth`) so a hostile file cannot exhaust the stack, strings
/// must be valid UTF-8, and nothing may follow the top-level value.
public struct StrictJSON {
    public static let defaultMaxDepth = 64

    private let bytes: UnsafeRawBufferPointer
    private let maxDepth: Int
    private var position = 0
    /// The line being read and the offset where it starts, kept up to date by `skipSpace` (the
    /// only place a raw newline may appear), so an error costs no rescan of the text.
    private var line = 1
    private var lineStart = 0

    private init(_ bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// Parses `bytes` as one JSON value.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws(StrictJSONError) -> JSONValue {
        var parser = StrictJSON(bytes, maxDepth: maxDepth)
        // A UTF-8 byte-order mark is tolerated, as JSONDecoder tolerates it.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { parser.position = 3 }
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        if parser.position < bytes.count { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    /// Parses `bytes` as one JSON value.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(StrictJSONError) -> JSONValue {
        let result: Result<JSONValue, StrictJSONError> = bytes.withUnsafeBytes { raw in
            do throws(StrictJSONError) { return .success(try parse(raw, maxDepth: maxDepth)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private func error(_ problem: String, at offset: Int? = nil) -> StrictJSONError {
        StrictJSONError(line: line, column: max(0, (offset ?? position) - lineStart) + 1, problem: problem)
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipSpace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
            position += 1
            if byte == 0x0A {
                line += 1
                lineStart = position
            }
        }
    }

    private mutating func expect(_ literal: StaticString, _ value: JSONValue) throws(StrictJSONError) -> JSONValue {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw error("the file ends inside a value") }
        for i in 0..<count where bytes[position + i] != literal.utf8Start[i] {
            throw error("unexpected character \(describe(bytes[position + i]))", at: position + i)
        }
        position += count
        return value
    }

    private func describe(_ byte: UInt8) -> String {
        (0x21..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    private mutating func value(depth: Int) throws(StrictJSONError) -> JSONValue {
        guard let byte = current else { throw error("the file ends where a value should start") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("unexpected character \(describe(byte)) where a value should start")
        }
    }

    private mutating func object(depth: Int) throws(StrictJSONError) -> JSONValue {
        if depth > maxDepth { throw error("nested deeper than \(maxDepth) levels") }
        position += 1
        var members: [JSONMember] = []
        var seen: [String: Int] = [:]
        skipSpace()
        if current == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipSpace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a quoted key") }
            let keyStart = position
            let key = try string()
            if let first = seen[key] {
                throw error("duplicate key \"\(key)\" (first at line \(first)); JSON readers disagree on which one counts, so neither is used", at: keyStart)
            }
            let keyLine = line
            seen[key] = keyLine
            skipSpace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':' after the key \"\(key)\"") }
            position += 1
            skipSpace()
            members.append(JSONMember(key: key, value: try value(depth: depth), line: keyLine))
            skipSpace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                return .object(members)
            case nil: throw error("the file ends inside an object")
            default: throw error("expected ',' or '}' after the value of \"\(key)\"")
            }
        }
    }

    private mutating func array(depth: Int) throws(StrictJSONError) -> JSONValue {
        if depth > maxDepth { throw error("nested deeper than \(maxDepth) levels") }
        position += 1
        var elements: [JSONValue] = []
        skipSpace()
        if current == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipSpace()
            elements.append(try value(depth: depth))
            skipSpace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"):
                position += 1
                return .array(elements)
            case nil: throw error("the file ends inside an array")
            default: throw error("expected ',' or ']' in an array")
            }
        }
    }

    private mutating func number() throws(StrictJSONError) -> String {
        let start = position
        func digits(_ parser: inout StrictJSON) -> Int {
            var count = 0
            while let byte = parser.current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                parser.position += 1
                count += 1
            }
            return count
        }
        if current == UInt8(ascii: "-") { position += 1 }
        if current == UInt8(ascii: "0") {
            position += 1
        } else if digits(&self) == 0 {
            throw error("a number needs digits")
        }
        if current == UInt8(ascii: ".") {
            position += 1
            if digits(&self) == 0 { throw error("a number needs digits after the decimal point") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            if digits(&self) == 0 { throw error("a number needs digits in its exponent") }
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    private mutating func string() throws(StrictJSONError) -> String {
        let start = position
        position += 1
        var utf8: [UInt8] = []
        while true {
            guard let byte = current else { throw error("the file ends inside a string", at: start) }
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    throw error("a string is not valid UTF-8", at: start)
                }
                return text
            case UInt8(ascii: "\\"):
                position += 1
                guard let escape = current else { throw error("the file ends inside a string", at: start) }
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"): utf8.append(contentsOf: try unicodeEscape())
                default: throw error("unknown escape \\\(describe(escape)) in a string", at: position - 2)
                }
            case 0..<0x20:
                throw error("a control character (\(describe(byte))) inside a string must be escaped")
            default:
                utf8.append(byte)
                position += 1
            }
        }
    }

    /// The UTF-8 of a `\uXXXX` escape (the `\u` already read), joining surrogate pairs.
    private mutating func unicodeEscape() throws(StrictJSONError) -> [UInt8] {
        let first = try hex4()
        var scalarValue = UInt32(first)
        if (0xD800..<0xDC00).contains(first) {
            guard position + 2 <= bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                throw error("a \\u escape holds half of a surrogate pair")
            }
            position += 2
            let second = try hex4()
            guard (0xDC00..<0xE000).contains(second) else { throw error("a \\u escape holds half of a surrogate pair") }
            scalarValue = 0x10000 + ((UInt32(first) - 0xD800) << 10) + (UInt32(second) - 0xDC00)
        } else if (0xDC00..<0xE000).contains(first) {
            throw error("a \\u escape holds half of a surrogate pair")
        }
        guard let scalar = Unicode.Scalar(scalarValue) else { throw error("a \\u escape is not a Unicode scalar") }
        return Array(String(Character(scalar)).utf8)
    }

    private mutating func hex4() throws(StrictJSONError) -> UInt16 {
        guard position + 4 <= bytes.count else { throw error("the file ends inside a \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("a \\u escape needs four hexadecimal digits")
            }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }
}
