import Foundation
@testable import Kernels
import Testing

@Suite("Parallel lanes")
struct ParallelTests {
    @Test("Lane parts cover the range once, in order, on granule boundaries", arguments: [1, 2, 3, 4, 7])
    func parts(lanes: Int) {
        for (total, granule) in [(101, 1), (576, 16), (768, 16), (5, 16), (0, 1), (3, 1)] {
            var next = 0
            for index in 0..<lanes {
                let part = Lane(index: index, count: lanes, pool: nil).part(total, granule: granule)
                #expect(part.lowerBound == next, "total \(total), lane \(index) of \(lanes)")
                if part.upperBound < total { #expect(part.upperBound % granule == 0) }
                next = part.upperBound
            }
            #expect(next == total)
        }
    }

    /// Each lane fills its part of `a`; after a barrier every lane sums all of `a` into its part
    /// of `b`; after another, lane 0 checks `b`. Repeated, so a missing barrier shows up.
    struct Exchange: ParallelWork {
        let a: UnsafeMutableBufferPointer<Int>
        let b: UnsafeMutableBufferPointer<Int>
        let round: Int

        func run(_ lane: Lane) {
            for i in lane.part(a.count) { a[i] = round &* 31 &+ i }
            lane.barrier()
            var sum = 0
            for value in a { sum &+= value }
            for i in lane.part(b.count) { b[i] = sum }
            lane.barrier()
        }
    }

    @Test("Barriers order the lanes' writes; every lane sees every other lane's part")
    func barriers() {
        let a = UnsafeMutableBufferPointer<Int>.allocate(capacity: 997)
        let b = UnsafeMutableBufferPointer<Int>.allocate(capacity: 13)
        defer { a.deallocate(); b.deallocate() }
        for round in 0..<500 {
            Parallel.run(Exchange(a: a, b: b, round: round))
            let expected = (0..<a.count).reduce(0) { $0 &+ (round &* 31 &+ $1) }
            #expect(b.allSatisfy { $0 == expected }, "round \(round)")
            if b.contains(where: { $0 != expected }) { break }
        }
    }

    @Test("Streams on several threads dispatch at once; a busy pool runs the work on the caller")
    func concurrentDispatch() async {
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let a = UnsafeMutableBufferPointer<Int>.allocate(capacity: 257)
                    let b = UnsafeMutableBufferPointer<Int>.allocate(capacity: 7)
                    defer { a.deallocate(); b.deallocate() }
                    var ok = true
                    for round in 0..<200 {
                        Parallel.run(Exchange(a: a, b: b, round: round))
                        let expected = (0..<a.count).reduce(0) { $0 &+ (round &* 31 &+ $1) }
                        ok = ok && b.allSatisfy { $0 == expected }
                    }
                    return ok
                }
            }
            for await ok in group { #expect(ok) }
        }
    }
}
