/// Chinese characters → tone-numbered pinyin ("等待。" → "deng3 dai4."), the input eSpeak-ng's
/// `cmn-latn-pinyin` voice speaks correctly.
///
/// A table rather than a dictionary library: narration uses a small, known phrasebook, and each
/// entry here is checked against eSpeak-ng's own reading (see the speech tests). Syllables carry
/// citation tones; the voice applies third-tone sandhi itself. Words come before characters so
/// that readings that depend on the word (行 in 行人, 一 in 一点钟) are right.
public enum MandarinPinyin {
    /// The text converted, and the characters the table lacks (in order of first appearance).
    /// A missing character is passed through unchanged for the voice's own dictionary to try;
    /// the list says which entries to add when the decoder's vocabulary grows.
    public struct Conversion: Sendable, Hashable {
        public var pinyin: String
        public var missing: [Character]
    }

    public static func convert(_ text: String) -> Conversion {
        var syllables: [String] = []
        var missing: [Character] = []
        var output = ""

        func flushSyllables() {
            guard !syllables.isEmpty else { return }
            if let last = output.last, !last.isWhitespace { output += " " }
            output += syllables.joined(separator: " ")
            syllables.removeAll()
        }

        let characters = Array(text)
        var index = 0
        while index < characters.count {
            if let (length, reading) = longestWord(in: characters, at: index) {
                syllables.append(reading)
                index += length
                continue
            }
            let character = characters[index]
            index += 1
            if let reading = characterReadings[character] {
                syllables.append(reading)
            } else if let mark = punctuation[character] {
                flushSyllables()
                output += mark
            } else if character.isWhitespace {
                flushSyllables()
                if output.last.map({ !$0.isWhitespace }) ?? false { output += " " }
            } else if character.isASCII {
                flushSyllables()
                output.append(character)
            } else {
                flushSyllables()
                if !missing.contains(character) { missing.append(character) }
                if let last = output.last, !last.isWhitespace { output += " " }
                output.append(character)
            }
        }
        flushSyllables()
        while output.last?.isWhitespace == true { output.removeLast() }
        return Conversion(pinyin: output, missing: missing)
    }

    /// Every character with a reading (for tests and for the report of coverage).
    public static var knownCharacters: Set<Character> { Set(characterReadings.keys) }

    private static func longestWord(in characters: [Character], at index: Int) -> (Int, String)? {
        for length in stride(from: min(maxWordLength, characters.count - index), through: 2, by: -1) {
            if let reading = wordReadings[String(characters[index..<index + length])] {
                return (length, reading)
            }
        }
        return nil
    }

    private static let maxWordLength = wordReadings.keys.map(\.count).max() ?? 1

    /// Readings that differ from the characters' defaults inside these words.
    private static let wordReadings: [String: String] = [
        "一点钟": "yi1 dian3 zhong1",
        "杆子": "gan1 zi5",
        "不要": "bu2 yao4",
    ]

    /// Chinese punctuation as the voice's clause breaks.
    private static let punctuation: [Character: String] = [
        "。": ". ", "，": ", ", "、": ", ", "！": "! ", "？": "? ", "；": "; ", "：": ": ",
    ]

    /// Default readings: every character of the phrasebook and of the training captions.
    private static let characterReadings: [Character: String] = [
        // Signal and camera.
        "摄": "she4", "像": "xiang4", "头": "tou2", "被": "bei4", "挡": "dang3", "住": "zhu4",
        "步": "bu4", "行": "xing2", "信": "xin4", "号": "hao4", "亮": "liang4", "交": "jiao1",
        "通": "tong1", "灯": "deng1", "绿": "lv4", "等": "deng3", "待": "dai4", "红": "hong2",
        "黄": "huang2", "闪": "shan3", "烁": "shuo4", "不": "bu4", "要": "yao4", "开": "kai1",
        "始": "shi3", "过": "guo4", "马": "ma3", "路": "lu4", "熄": "xi1", "灭": "mie4",
        "未": "wei4", "见": "jian4", "清": "qing1", "正": "zheng4", "在": "zai4", "变": "bian4",
        "化": "hua4", "准": "zhun3", "断": "duan4", "恢": "hui1", "复": "fu4", "备": "bei4", "好": "hao3", "了": "le5",
        "还": "hai2", "秒": "miao3", "画": "hua4", "面": "mian4", "没": "mei2", "颜": "yan2", "色": "se4",
        // Places and directions.
        "左": "zuo3", "侧": "ce4", "有": "you3", "人": "ren2", "横": "heng2", "道": "dao4",
        "前": "qian2", "方": "fang1", "右": "you4", "稍": "shao1", "微": "wei1", "向": "xiang4",
        "转": "zhuan3", "很": "hen3", "近": "jin4", "较": "jiao4", "远": "yuan3", "偏": "pian1",
        "略": "lve4",
        // Obstacles.
        "汽": "qi4", "车": "che1", "自": "zi4", "滑": "hua2", "板": "ban3", "杆": "gan1",
        "子": "zi3", "桩": "zhuang1", "锥": "zhui1", "桶": "tong3", "垃": "la1", "圾": "ji1",
        "树": "shu4", "广": "guang3", "告": "gao4", "牌": "pai2", "障": "zhang4", "碍": "ai4",
        "物": "wu4",
        // Clock hours.
        "一": "yi1", "两": "liang3", "二": "er4", "三": "san1", "四": "si4", "五": "wu3",
        "六": "liu4", "七": "qi1", "八": "ba1", "九": "jiu3", "十": "shi2", "点": "dian3",
        "钟": "zhong1",
    ]
}
