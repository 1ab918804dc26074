import Foundation
import Testing

/// `listen bench`'s allocation count, from the real program with libAllocationCounter.so preloaded
/// (the bench does that itself). Counts, not times: nothing here depends on the machine's speed.
///
/// Allocation counts mean something only in an optimized build — a debug build's unspecialized
/// generics allocate thousands of times per frame — so this runs the release `listen` in
/// `.build/release`, when that build is at least as new as every source file. scripts/test.sh
/// builds it before running the tests; after editing sources, `swift build -c release` again.
@Suite("listen bench", .serialized)
struct BenchTests {
    static let release = Programs.repository.appendingPathComponent(".build/release")

    static var releaseIsFresh: Bool {
        let files = FileManager.default
        func modified(_ url: URL) -> Date? {
            (try? files.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date
        }
        guard let built = modified(release.appendingPathComponent("listen")),
              files.fileExists(atPath: release.appendingPathComponent("libAllocationCounter.so").path)
        else { return false }
        var newest = modified(Programs.repository.appendingPathComponent("Package.swift")) ?? .distantPast
        let sources = files.enumerator(at: Programs.repository.appendingPathComponent("Sources"), includingPropertiesForKeys: nil)
        // Documentation beside the code (Sources/Kernels/README.md) does not make a build stale.
        while let url = sources?.nextObject() as? URL {
            if url.pathExtension == "md" { continue }
            if let date = modified(url), date > newest { newest = date }
        }
        return built >= newest
    }

    static func bench(_ arguments: [String]) throws -> [String: Any] {
        let run = try Programs.run(executable: release.appendingPathComponent("listen"), ["bench", "--no-peers", "--json"] + arguments)
        #expect(run.status == 0, "\(run.errors)")
        let line = run.output.split(separator: "\n").last.map(String.init) ?? ""
        return try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
    }

    @Test("Steady state allocates nothing per frame: preprocessing to greedy and beam captions, 1 and 2 threads",
          .enabled(if: releaseIsFresh, "needs an up-to-date release build: swift build -c release (scripts/test.sh does it)"),
          arguments: [1, 2])
    func zeroAllocations(threads: Int) throws {
        // The sample images come in several sizes, and the measured frames include sizes the
        // warm-up did not see: a frame of a new size must not allocate either.
        for language in ["en", "zh"] {
            let result = try Self.bench([
                "--threads", String(threads), "--frames", "8", "--warmup", "2", "--beams", "3", "--lang", language,
            ])
            let allocations = result["allocationsPerFrame"] as? Double
            let figure = allocations.map { String($0) } ?? "not counted"
            #expect(allocations == 0, "\(language), \(threads) thread(s): \(figure) allocations per frame")
            #expect((result["tokensPerBeamCaption"] as? Double ?? 0) > 0)
            #expect(result["kernel"] is String)
            #expect((result["fmaPeakGflopsPerThread"] as? Double ?? 0) > 0)
        }
    }

    @Test("--baseline times another model's frames beside the model's and gives their ratio; a folder that is no model is refused",
          .enabled(if: releaseIsFresh, "needs an up-to-date release build: swift build -c release (scripts/test.sh does it)"))
    func baseline() throws {
        let model = Programs.repository.appendingPathComponent("models/default").path
        let result = try Self.bench(["--threads", "1", "--frames", "10", "--warmup", "1", "--baseline", model])
        let comparison = try #require(result["baseline"] as? [String: Any])
        #expect(comparison["model"] as? String == model)
        #expect(comparison["frames"] as? Int == 10)
        let mine = try #require(comparison["frame_p50"] as? Double), theirs = try #require(comparison["baseline_frame_p50"] as? Double)
        #expect(mine > 0 && theirs > 0)
        let ratio = try #require(comparison["ratio"] as? Double)
        #expect(abs(ratio - mine / theirs) <= 1e-9 * ratio)
        // Blocks of 8: 10 frames each are two blocks a model (8 and 2), so two block pairs.
        let blocks = try #require(comparison["block_ratios"] as? [Double])
        #expect(blocks.count == 2 && blocks.allSatisfy { $0 > 0 && $0.isFinite }, "\(blocks)")

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lttw-no-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Programs.run(
            executable: Self.release.appendingPathComponent("listen"),
            ["bench", "--no-peers", "--frames", "5", "--warmup", "0", "--baseline", folder.path])
        #expect(run.status != 0)
        #expect(run.errors.contains("--baseline \(folder.path)"), "\(run.errors)")
    }

    @Test("The signal expert's rarer paths allocate nothing either: the second look, a view miss, a verifier turn-down, a standby",
          .enabled(if: releaseIsFresh, "needs an up-to-date release build: swift build -c release (scripts/test.sh does it)"))
    func zeroAllocationsOnTheSignalExpertsRarerPaths() throws {
        let fixtures = Programs.repository.appendingPathComponent("Tests/Fixtures/signal")
        let images = ["second_look_stop", "view_miss_held", "green_not_verified", "standby_walk"].flatMap {
            ["--images", fixtures.appendingPathComponent("\($0).png").path]
        }
        let result = try Self.bench(["--threads", "2", "--frames", "8", "--warmup", "4"] + images)
        let allocations = result["allocationsPerFrame"] as? Double
        #expect(allocations == 0, "\(allocations.map { String($0) } ?? "not counted") allocations per frame")
    }
}
