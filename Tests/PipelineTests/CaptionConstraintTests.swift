import Foundation
import Imaging
import Narrator
import Pipeline
import TestSupport
import Testing
import Vision

/// The constraint that holds a caption to its frame's facts (Sources/Narrator/CaptionGrammar.swift),
/// on the shipped tokenizer.
@Suite("Captions held to the facts")
struct CaptionConstraintTests {
    static func grammar() throws -> (CaptionGrammar, Tokenizer) {
        let tokenizer = try Tokenizer(contentsOf: Programs.repository.appendingPathComponent("models/default/tokenizer.json"))
        let model = try ParityTests.model()
        return (CaptionGrammar(tokenizer: tokenizer, obstacleKinds: model.configuration.obstacleKinds), tokenizer)
    }

    /// The tokens a mask allows, as words.
    static func words(_ mask: UnsafeBufferPointer<Bool>, _ tokenizer: Tokenizer) -> Set<String> {
        Set(mask.indices.filter { mask[$0] }.map { tokenizer.vocabulary[$0] })
    }

    @Test("The grammar holds every template sentence of both languages: the vocabulary spells them all")
    func grammarIsComplete() throws {
        let (grammar, tokenizer) = try Self.grammar()
        let kinds = ObstacleNames.english.keys.sorted()
        for language in Language.allCases {
            for position in Position.allCases {
                #expect(grammar.crosswalk(position, language) != nil)
                for kind in kinds {
                    for distance in Distance.allCases {
                        let id = try #require(grammar.obstacle(kind: kind, position: position, distance: distance, language))
                        let sentence = CaptionTemplates.obstacle(kind: kind, position: position, distance: distance, mandarin: language == .mandarin)
                        #expect(tokenizer.decode(grammar.sentence(id), language: language) == sentence)
                    }
                }
            }
            #expect(grammar.noSignal(language) != nil)
            #expect(grammar.light(.red, kind: .pedestrian, position: .left, language).count == 2)
            #expect(grammar.light(.unknown, kind: nil, position: nil, language).count == 1)
            #expect(grammar.light(.none, kind: nil, position: nil, language).isEmpty)
            #expect(grammar.obstacle(kind: "unicycle", position: .ahead, distance: .near, language) == nil)
        }
    }

    @Test("Within a sentence only its allowed continuations; <eos> only between sentences, after one; each sentence once")
    func allowedTokens() throws {
        let (grammar, tokenizer) = try Self.grammar()
        let constraint = CaptionConstraint(grammar: grammar, vocabularySize: tokenizer.count)
        for id in grammar.light(.red, kind: .pedestrian, position: .ahead, .english) { constraint.allow(id) }
        constraint.allow(grammar.crosswalk(.ahead, .english))
        constraint.allow(grammar.crosswalk(.ahead, .english))
        constraint.allow(nil)
        #expect(constraint.count == 3)
        func next(_ text: String) -> Set<String> {
            let prefix = tokenizer.encode(text, language: .english)
            return prefix.withUnsafeBufferPointer { Self.words(constraint.allowedTokens(after: $0, endID: tokenizer.endID), tokenizer) }
        }
        #expect(next("") == ["Wait", "Red", "Crosswalk"])
        #expect(next("Crosswalk ahead") == ["."], "only the crossing ahead, not slightly left or right")
        #expect(next("Red pedestrian signal") == ["ahead"])
        #expect(next("Crosswalk ahead.") == ["Wait", "Red", "<eos>"])
        #expect(next("Wait. Crosswalk ahead. Red pedestrian signal ahead.") == ["<eos>"])
        #expect(next("Walk signal on.") == ["<eos>"], "a prefix the facts never allowed can only end")
        let cut = tokenizer.encode("Wait. Crosswalk ahead", language: .english)
        #expect(cut.withUnsafeBufferPointer { constraint.wholeSentenceCount(of: $0, endID: tokenizer.endID) } == 2)
        let ended = tokenizer.encode("Wait.", language: .english) + [tokenizer.endID]
        #expect(ended.withUnsafeBufferPointer { constraint.wholeSentenceCount(of: $0, endID: tokenizer.endID) } == 3)
        constraint.removeAll()
        #expect(next("") == ["<eos>"], "with nothing allowed the caption is empty")
    }

    @Test("Any walk through the allowed tokens, cut at any length, spells only allowed sentences, each once")
    func randomWalksStayInside() throws {
        let (grammar, tokenizer) = try Self.grammar()
        let constraint = CaptionConstraint(grammar: grammar, vocabularySize: tokenizer.count)
        var random = SplitMix64(seed: 2026_12_05)
        let kinds = ObstacleNames.english.keys.sorted()
        for walk in 0..<500 {
            let language: Language = walk % 2 == 0 ? .english : .mandarin
            constraint.removeAll()
            let state = LightState.allCases.randomElement(using: &random)!
            if state == .none {
                constraint.allow(grammar.noSignal(language))
            } else {
                for id in grammar.light(state, kind: LightKind.allCases.randomElement(using: &random), position: .left, language) {
                    constraint.allow(id)
                }
            }
            if Bool.random(using: &random) { constraint.allow(grammar.crosswalk(Position.allCases.randomElement(using: &random)!, language)) }
            for _ in 0..<Int.random(in: 0...4, using: &random) {
                constraint.allow(grammar.obstacle(
                    kind: kinds.randomElement(using: &random)!, position: Position.allCases.randomElement(using: &random)!,
                    distance: Distance.allCases.randomElement(using: &random)!, language))
            }
            let allowed = Set(constraint.sentences.map { tokenizer.decode(grammar.sentence($0), language: language) })
            let limit = Int.random(in: 1...40, using: &random)
            var tokens: [Int32] = []
            while tokens.count < limit {
                let mask = tokens.withUnsafeBufferPointer { constraint.allowedTokens(after: $0, endID: tokenizer.endID) }
                let choices = mask.indices.filter { mask[$0] }
                #expect(!choices.isEmpty)
                let next = Int32(choices.randomElement(using: &random)!)
                tokens.append(next)
                if next == tokenizer.endID { break }
            }
            let kept = tokens.withUnsafeBufferPointer { constraint.wholeSentenceCount(of: $0, endID: tokenizer.endID) }
            let said = CaptionGuard.sentences(of: tokenizer.decode(tokens.prefix(kept), language: language))
            #expect(Set(said).isSubset(of: allowed), "walk \(walk): \(said) not within \(allowed)")
            #expect(Set(said).count == said.count, "walk \(walk): a sentence twice: \(said)")
            if tokens.last == tokenizer.endID { #expect(!said.isEmpty || allowed.isEmpty, "walk \(walk): ended before any sentence") }
        }
    }

    @Test("A caption stating another light is caught, both languages; the frame's own light is not")
    func lightClaims() {
        let red = SceneFacts.Light(kind: .pedestrian, state: .red, confidence: 0.9, position: .ahead)
        let unknown = SceneFacts.Light(kind: nil, state: .unknown, confidence: 0.5, position: nil)
        #expect(CaptionGuard.unbackedLightClaims("Wait. Red pedestrian signal ahead. Crosswalk ahead.", light: red).isEmpty)
        #expect(CaptionGuard.unbackedLightClaims("Wait. Red pedestrian signal on your left.", light: red) == ["Red pedestrian signal on your left."])
        #expect(CaptionGuard.unbackedLightClaims("Walk signal on. Green pedestrian signal ahead.", light: unknown).count == 2)
        #expect(CaptionGuard.unbackedLightClaims("步行信号亮。前方行人信号灯绿灯。", light: unknown).count == 2)
        #expect(CaptionGuard.unbackedLightClaims("No signal in view.", light: nil).isEmpty)
        #expect(CaptionGuard.unbackedLightClaims("No signal in view.", light: unknown) == ["No signal in view."])
    }

    @Test("On every sample, both languages, greedy and beam: the caption says only the frame's facts' sentences")
    func samplesSayOnlyTheirFacts() throws {
        let model = try ParityTests.model()
        let stream = StreetModel.Stream(model, beamWidth: 3)
        let folder = Programs.repository.appendingPathComponent("samples/images")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".jpg") }.sorted()
        #expect(files.count >= 16)
        var freeContradictions = 0
        for file in files {
            let image = try Image.decode(file: folder.appendingPathComponent(file).path)
            try stream.preprocess(image)
            stream.perceive()
            try stream.readExperts(image)
            let facts = FrameReading(stream).facts(time: 0, configuration: model.configuration)
            for language in Language.allCases {
                for width in [1, 3] {
                    let caption = stream.caption(language, beamWidth: width)
                    let allowed = Set(CaptionGuard.factSentences(crosswalk: facts.crosswalk, obstacles: facts.obstacles, mandarin: language == .mandarin)
                        + (facts.light.map { $0.state == .none ? [CaptionTemplates.noSignal(mandarin: language == .mandarin)]
                            : CaptionTemplates.light($0.state, kind: $0.kind, position: $0.position, mandarin: language == .mandarin) } ?? []))
                    let said = CaptionGuard.sentences(of: caption)
                    #expect(!said.isEmpty, "\(file) \(language) width \(width): empty caption")
                    #expect(Set(said).isSubset(of: allowed), "\(file) \(language) width \(width): \(caption) — allowed \(allowed)")
                    #expect(Set(said).count == said.count, "\(file) \(language): a sentence said twice: \(caption)")
                }
                let free = stream.caption(language, facts: .free)
                if !CaptionGuard.unbackedClaims(free, crosswalk: facts.crosswalk, obstacles: facts.obstacles).isEmpty
                    || !CaptionGuard.unbackedLightClaims(free, light: facts.light).isEmpty {
                    freeContradictions += 1
                }
            }
        }
        print("samples: the free decoder contradicts its facts in \(freeContradictions) of \(files.count * 2) captions; held, in none")
    }
}
