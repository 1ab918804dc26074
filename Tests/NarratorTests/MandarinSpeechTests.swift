import Fusion
import Narrator
import Testing
import Vision

/// Every Mandarin sentence the phrasebook can produce, in both direction styles.
private func phrasebookSentences() -> [String] {
    let messages = PhrasebookMessages.all
    var sentences: Set<String> = []
    for directions in DirectionStyle.allCases {
        let book = Phrasebook(language: .mandarin, directions: directions)
        for message in messages {
            sentences.insert(book.text(for: message))
            // The seconds a countdown shows, beside red and green (1…59).
            for seconds in 1...59 { sentences.insert(book.text(for: message, secondsLeft: seconds)) }
        }
    }
    return sentences.sorted()
}

/// Sentences as the training captions write them (training/lttw/captions.py), which the decoder
/// will produce.
private let captionSentences = [
    "前方人行横道，略偏左。", "前方人行横道，略偏右。", "右侧有广告牌，较远。", "左侧行人信号灯熄灭。",
    "未见信号灯。", "前方有垃圾桶。", "左侧有路桩，很近。", "前方交通信号灯绿灯。", "信号不清。",
    "等待。前方行人信号灯红灯。", "右侧交通信号灯黄灯。", "前方有锥桶，很近。", "左侧有树。",
]

extension EngineSuite {
    @Suite("Mandarin through pinyin")
    struct MandarinSpeechTests {
        @Test("The pinyin table covers every character of the phrasebook and of the training captions")
        func coverage() {
            for sentence in phrasebookSentences() + captionSentences {
                #expect(MandarinPinyin.convert(sentence).missing == [], "\(sentence)")
            }
            let captionCharacters = "不交亮人侧信偏前右号告圾垃子左广待很方有未杆板树桩桶横步汽清滑灭灯烁熄牌略等红绿自行见路车较近远通道锥闪黄"
            #expect(captionCharacters.allSatisfy(MandarinPinyin.knownCharacters.contains))
        }

        @Test("Conversion: tone numbers, word readings, punctuation as clause breaks, missing characters reported")
        func conversion() {
            #expect(MandarinPinyin.convert("等待。步行信号亮。").pinyin == "deng3 dai4. bu4 xing2 xin4 hao4 liang4.")
            #expect(MandarinPinyin.convert("左侧有杆子，很近。").pinyin == "zuo3 ce4 you3 gan1 zi5, hen3 jin4.")
            #expect(MandarinPinyin.convert("十一点钟方向").pinyin == "shi2 yi1 dian3 zhong1 fang1 xiang4")
            let unknown = MandarinPinyin.convert("前方有狗和猫，狗很近。")
            #expect(unknown.missing == ["狗", "和", "猫"])
            #expect(unknown.pinyin == "qian2 fang1 you3 狗 和 猫, 狗 hen3 jin4.")
        }

        /// The one deliberate difference from eSpeak-ng's dictionary: 不 before a fourth tone is said
        /// in the second tone (不要 bú yào); the dictionary reads it in the fourth.
        private static let sandhi = [("p'u51_| j'Au51", "p'u35_| j'Au51")]

        @Test("Pinyin read by cmn-latn-pinyin gives the same phonemes as eSpeak-ng's own dictionary reading of the characters")
        func phonemesMatchDictionary() throws {
            let engine = try SharedEngine.get()
            let voice = Voice.standard(for: .mandarin)
            var compared = 0
            for sentence in phrasebookSentences() + captionSentences {
                let pinyin = MandarinPinyin.convert(sentence).pinyin
                var expected = try engine.phonemes(sentence, voice: voice)
                for (dictionary, spoken) in Self.sandhi {
                    expected = expected.replacing(dictionary, with: spoken)
                }
                let actual = try engine.phonemes(pinyin, voice: voice)
                #expect(actual == expected, "\(sentence) → \(pinyin)")
                compared += 1
            }
            #expect(compared > 100)
        }

        @Test("Pinned phonemes: tones 214/35/51/55 and the 不要 sandhi; the plain cmn voice would spell in English")
        func pinnedPhonemes() throws {
            let engine = try SharedEngine.get()
            let voice = Voice.standard(for: .mandarin)
            #expect(try engine.phonemes("deng3 dai4.", voice: voice) == "t'@214N_| t'ai51_|")
            #expect(try engine.phonemes(MandarinPinyin.convert("不要开始过马路。").pinyin, voice: voice)
                == "p'u35_| j'Au51_| kh'ai55_| s.'i.214_| k'uo51_| m'A214_| l'u51_|")
            let plain = try engine.phonemes("等待。", voice: Voice(name: "cmn"))
            #expect(plain.contains("(en)"))
        }
    }
}
