/// File names and messages made safe to print on one line.
///
/// A Linux file name is any bytes but `/` and NUL: it can hold a newline (printed raw, it forges
/// a second result line, "a.jpg: Walk signal on.") or bytes that are not UTF-8 (which Swift
/// strings replace with U+FFFD, so the name printed is not the name on disk).
enum DisplayName {
    /// `text` with every control character written as an escape (`\n`, `\t`, `\r`, `\u{1B}`).
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where isControl(scalar): out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Raw file-name bytes for display: valid UTF-8 as text, each other byte as `\xNN`, control
    /// characters escaped.
    static func of(bytes: [UInt8]) -> String {
        var out = ""
        var index = 0
        while index < bytes.count {
            var end = index + 1
            // The longest run from `index` that is valid UTF-8 (a scalar is at most 4 bytes).
            var decoded: String?
            while end <= min(bytes.count, index + 4), decoded == nil {
                decoded = String(validating: bytes[index..<end], as: UTF8.self)
                if decoded == nil { end += 1 }
            }
            if let decoded {
                out += escaped(decoded)
                index = end
            } else {
                out += "\\x" + String(bytes[index], radix: 16, uppercase: true).leftPadded(to: 2)
                index += 1
            }
        }
        return out
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}"
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
