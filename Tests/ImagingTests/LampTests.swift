import Foundation
import Testing
@testable import Imaging

/// lamps.json, written by scripts/make_lamp_fixtures.py from training/lttw/lamps.py.
struct LampFixtures: Decodable {
    struct Entry: Decodable {
        let file: String
        let width: Int
        let height: Int
        /// lamps.Candidate.as_list(): x0, y0, x1, y1, colour, score, scale, whole.
        let candidates: [[Int]]
        let cropRects: [[Int]]
        let positions: [String]
        let crops: String
        /// lamps.frame_chroma: the largest chroma of the proposal image (contract step 9).
        let frameChroma: Int
        /// lamps.tile_chroma: the largest chroma of the proposal image's tile means (step 10).
        let tileChroma: Int
    }

    let cropSize: Int
    let mean: [Float]
    let std: [Float]
    let images: [Entry]

    static let shared: LampFixtures = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(LampFixtures.self, from: Data(try Fixtures.bytes("lamps/lamps.json")))
        } catch {
            fatalError("lamps/lamps.json: \(error)")
        }
    }()

    static func entry(_ file: String) throws -> Entry {
        try #require(shared.images.first { $0.file == file }, "\(file) is not in lamps.json")
    }

    static func image(_ file: String) throws -> Image { try Image.decode(file: Fixtures.path("lamps/\(file)")) }

    /// Every image the manifest lists, so a fixture added to make_lamp_fixtures.py is tested
    /// without a second list to keep in step.
    static var files: [String] { shared.images.map(\.file) }
}

extension LampCandidate {
    /// The row lamps.Candidate.as_list() writes.
    var pythonRow: [Int] {
        let colourID =
            switch colour {
            case .red: 1
            case .amber: 2
            case .green: 3
            case .wholeFrame: 0
            }
        return [x0, y0, x1, y1, colourID, score, scale, isWholeFrame ? 1 : 0]
    }
}

/// A black RGB frame with filled rectangles of the given colours.
func frame(width: Int, height: Int, boxes: [(PixelRect, RGB)] = []) throws -> Image {
    var image = try Image(width: width, height: height, color: .black)
    for (rect, colour) in boxes {
        try image.drawRectangle(rect, color: colour, thickness: -1)
    }
    return image
}

@Suite("Lamp candidates and crops match lamps.py exactly")
struct LampTests {
    @Test("Candidates are lamps.propose's, in its order", arguments: LampFixtures.files)
    func candidatesMatchPython(file: String) throws {
        let entry = try LampFixtures.entry(file)
        let image = try LampFixtures.image(file)
        #expect(image.width == entry.width && image.height == entry.height)
        let proposer = LampProposer(maxWidth: 640, maxHeight: 480)
        let candidates = try proposer.propose(image)
        #expect(candidates.map(\.pythonRow) == entry.candidates)
        #expect(proposer.frameChroma == entry.frameChroma)
        #expect(proposer.lastFrameIsColourless == (entry.frameChroma <= LampProposer.colourlessChroma))
        #expect(proposer.tileChroma == entry.tileChroma)
        #expect(proposer.lastFrameColourIsNoise == (entry.tileChroma <= LampProposer.noiseChroma))
        #expect(candidates.count <= LampProposer.maxCandidates)
        let rects = try candidates.map { candidate throws(ImagingError) in
            let rect = try candidate.cropRect(frameWidth: image.width, frameHeight: image.height)
            return [rect.x, rect.y, rect.width, rect.height]
        }
        #expect(rects == entry.cropRects)
        #expect(candidates.map { $0.position(frameWidth: image.width).rawValue } == entry.positions)
    }

    @Test("A grey frame shows no colour, and one pixel just past the bound does; the bound is lamps.py's")
    func colourlessFrames() throws {
        #expect(LampProposer.colourlessChroma == 8)
        let proposer = LampProposer()
        _ = try proposer.propose(try LampFixtures.image("no_colour_400x300.png"))
        #expect(proposer.frameChroma == 0 && proposer.lastFrameIsColourless)
        _ = try proposer.propose(try LampFixtures.image("faint_tint_321x240.png"))
        #expect(proposer.frameChroma == LampProposer.colourlessChroma + 1 && !proposer.lastFrameIsColourless)
        // A one-channel frame has no colour at all, and a colour frame after it is seen afresh.
        _ = try proposer.propose(try Image(width: 64, height: 48, channels: 1, pixels: [UInt8](repeating: 200, count: 64 * 48)))
        #expect(proposer.frameChroma == 0 && proposer.lastFrameIsColourless)
        _ = try proposer.propose(try LampFixtures.image("scene_35.png"))
        #expect(proposer.frameChroma == (try LampFixtures.entry("scene_35.png")).frameChroma && !proposer.lastFrameIsColourless)
    }

    @Test("Colour that is only per-channel noise is told from a frame's own colour; tiles past the last whole one are not read")
    func colourOnlyNoise() throws {
        #expect(LampProposer.noiseChroma == 6)
        let proposer = LampProposer()
        _ = try proposer.propose(try LampFixtures.image("colour_noise_331x251.png"))
        #expect(!proposer.lastFrameIsColourless && proposer.frameChroma > 100)
        #expect(proposer.tileChroma <= LampProposer.noiseChroma && proposer.lastFrameColourIsNoise)
        _ = try proposer.propose(try LampFixtures.image("tinted_tile_337x250.png"))
        #expect(proposer.tileChroma == LampProposer.noiseChroma + 1 && !proposer.lastFrameColourIsNoise)
        _ = try proposer.propose(try LampFixtures.image("scene_35.png"))
        #expect(!proposer.lastFrameColourIsNoise)
        // A one-channel frame's colour is nothing at all, and one that fails to propose is not seen in colour.
        _ = try proposer.propose(try Image(width: 64, height: 48, channels: 1, pixels: [UInt8](repeating: 200, count: 64 * 48)))
        #expect(proposer.tileChroma == 0 && proposer.lastFrameColourIsNoise)
    }

    /// Bit-identical, not merely within 1e-6: the sums are integers and the four float32 steps
    /// are numpy's, in its order, compiled without FMA contraction.
    @Test("Crops are bit-identical to lamps.read_crops", arguments: LampFixtures.files)
    func cropsBitIdentical(file: String) throws {
        let fixtures = LampFixtures.shared
        let entry = try LampFixtures.entry(file)
        let image = try LampFixtures.image(file)
        let reference = try Fixtures.floats("lamps/\(entry.crops)")
        let cropCount = 3 * fixtures.cropSize * fixtures.cropSize
        #expect(reference.count == entry.candidates.count * cropCount)
        let candidates = try LampProposer().propose(image)
        #expect(candidates.count == entry.candidates.count)
        var crop = [Float](repeating: .nan, count: cropCount)
        for (index, candidate) in candidates.enumerated() where (index + 1) * cropCount <= reference.count {
            try crop.withUnsafeMutableBufferPointer { buffer in
                try LampCrop.sample(
                    image, candidate: candidate, size: fixtures.cropSize, mean: fixtures.mean, std: fixtures.std,
                    into: buffer)
            }
            let expected = reference[index * cropCount..<(index + 1) * cropCount]
            #expect(crop.map(\.bitPattern) == expected.map(\.bitPattern), "crop \(index) of \(file)")
        }
    }

    @Test("A scratch reused for frames of the same and other sizes gives the same candidates")
    func scratchReuse() throws {
        let proposer = LampProposer(maxWidth: 32, maxHeight: 32)
        var candidates: [LampCandidate] = []
        candidates.reserveCapacity(LampProposer.maxCandidates)
        let scene = try LampFixtures.image("scene_35.png")
        try proposer.propose(scene, into: &candidates)
        let first = candidates
        #expect(first.map(\.pythonRow) == (try LampFixtures.entry("scene_35.png")).candidates)
        try proposer.propose(scene, into: &candidates)
        #expect(candidates == first)
        let other = try LampFixtures.image("scene_57.png")
        try proposer.propose(other, into: &candidates)
        #expect(candidates.map(\.pythonRow) == (try LampFixtures.entry("scene_57.png")).candidates)
        try proposer.propose(try LampFixtures.image("large_2000x1500.png"), into: &candidates)
        try proposer.propose(scene, into: &candidates)
        #expect(candidates == first)
    }

    @Test("The whole frame comes for a frame of at most 320 px a side, a blob 1/8 of its shorter side, or a lamp filling it")
    func wholeFrameRule() throws {
        let proposer = LampProposer()
        #expect(try proposer.propose(try frame(width: 320, height: 200)) == [.wholeFrame(width: 320, height: 200)])
        #expect(try proposer.propose(try frame(width: 321, height: 200)).isEmpty)
        // 640×480: f = 1, so a 60 px square is a 62 px dilated box: 8 × 62 >= 480.
        let large = try proposer.propose(
            try frame(width: 640, height: 480, boxes: [(PixelRect(x: 100, y: 100, width: 60, height: 60), RGB(240, 30, 30))]))
        #expect(large.map(\.colour) == [.red, .wholeFrame])
        #expect(large.first.map { [$0.x0, $0.y0, $0.x1, $0.y1] } == [99, 99, 161, 161])
        #expect(large.last == .wholeFrame(width: 640, height: 480))
        let small = try proposer.propose(
            try frame(width: 640, height: 480, boxes: [(PixelRect(x: 100, y: 100, width: 40, height: 40), RGB(240, 30, 30))]))
        #expect(small.map(\.colour) == [.red])
        // A green 42 px blob is under 1/8 of 480; its 84 px figure is not, nor its lamp figure
        // (the 40 px green mass), but only a blob brings the whole frame.
        let green = try proposer.propose(
            try frame(width: 640, height: 480, boxes: [(PixelRect(x: 100, y: 100, width: 40, height: 40), RGB(30, 240, 30))]))
        #expect(green.map(\.scale) == [1, 3, 3])
        let widths: [Int] = [42, 84, 5 * 40 / 16]
        #expect(green.map(\.width) == widths)
        // A lamp filling the frame (a 300 px square: more than half of 480 at both scales) is no
        // blob, so nothing of it would be read: the whole frame comes for it instead, after the
        // lamp figure of its green mass (300 px is under 3/4 of 480). A bar as long is refused by
        // its shape, not its size, and brings nothing.
        let filling = try proposer.propose(
            try frame(width: 640, height: 480, boxes: [(PixelRect(x: 170, y: 90, width: 300, height: 300), RGB(30, 240, 30))]))
        let lampSide = 5 * 300 / 16
        let lamp: [Int] = [(170 + 470 - lampSide) / 2, (90 + 390 - lampSide) / 2]
        let lampBox: [Int] = lamp + [lamp[0] + lampSide, lamp[1] + lampSide]
        let lampRow: [Int] = lampBox + [3, 210 * 256, 3, 0]
        #expect(filling.map(\.pythonRow) == [lampRow, LampCandidate.wholeFrame(width: 640, height: 480).pythonRow])
        let bar = try proposer.propose(
            try frame(width: 640, height: 480, boxes: [(PixelRect(x: 20, y: 200, width: 600, height: 20), RGB(30, 240, 30))]))
        #expect(bar.isEmpty)
        // A 300 px outline, one pixel wide, fills under 12 % of its box: refused as a blob for its
        // fill, not its size, so it brings no whole frame; its green mass gives the lamp figure.
        let side = RGB(30, 240, 30)
        let ring = try proposer.propose(
            try frame(width: 640, height: 480, boxes: [
                (PixelRect(x: 170, y: 90, width: 300, height: 1), side), (PixelRect(x: 170, y: 389, width: 300, height: 1), side),
                (PixelRect(x: 170, y: 90, width: 1, height: 300), side), (PixelRect(x: 469, y: 90, width: 1, height: 300), side),
            ]))
        let ringBoxes: [[Int]] = ring.map { [$0.x0, $0.y0, $0.x1, $0.y1] }
        #expect(ringBoxes == [lampBox])
        let whole = try #require(large.last)
        #expect(whole.isWholeFrame && whole.score == -1 && whole.scale == 0)
        #expect(try whole.cropRect(frameWidth: 640, frameHeight: 480) == PixelRect(x: 0, y: 0, width: 640, height: 480))
        #expect(whole.position(frameWidth: 640) == .ahead)
    }

    @Test("A green blob among the first four gives its figure: twice its size on its centre, past the edge too")
    func figures() throws {
        let proposer = LampProposer()
        // 640×480, f = 1: a green 10 px square at the left edge, an amber and a red square (no
        // figures) and a second green square.
        let found = try proposer.propose(
            try frame(width: 640, height: 480, boxes: [
                (PixelRect(x: 0, y: 200, width: 10, height: 10), RGB(20, 240, 20)),
                (PixelRect(x: 300, y: 100, width: 20, height: 20), RGB(250, 170, 0)),
                (PixelRect(x: 500, y: 300, width: 16, height: 16), RGB(240, 20, 20)),
                (PixelRect(x: 400, y: 50, width: 12, height: 12), RGB(30, 220, 120)),
            ]))
        let blobs = found.filter { $0.scale != 3 }
        let figures = found.filter { $0.scale == 3 }
        #expect(found.prefix(blobs.count).allSatisfy { $0.scale != 3 }, "figures follow the blobs")
        let greens = blobs.filter { $0.colour == .green }
        #expect(figures.count == 2 && figures.allSatisfy { $0.colour == .green })
        #expect(figures.map(\.score) == greens.map(\.score), "in the blobs' order")
        for (figure, blob) in zip(figures, greens) {
            #expect(figure.width == 2 * blob.side && figure.width == figure.height)
            #expect(figure.isFigure && !blob.isFigure && figure.side == blob.side, "a figure's lamp is its blob's size")
            // Same centre, floor-divided: twice the centres differ by at most one pixel.
            #expect(abs((figure.x0 + figure.x1) - (blob.x0 + blob.x1)) <= 1)
            #expect(abs((figure.y0 + figure.y1) - (blob.y0 + blob.y1)) <= 1)
        }
        #expect(figures.contains { $0.x0 < 0 }, "a figure may leave the frame, as its crop does")
        #expect(!found.contains { $0.isWholeFrame })
    }

    @Test("The lamp figure frames the most saturated green mass at 5/4 of its size (lamps.py step 7)")
    func lampFigure() throws {
        let proposer = LampProposer()
        // An LED walk figure: 2 px green dots 6 px apart over 60×100 px (no blob spans them; cells
        // of 3 % of 480 = 14 px gather them), and a less saturated green square elsewhere.
        var boxes: [(PixelRect, RGB)] = [(PixelRect(x: 50, y: 400, width: 50, height: 50), RGB(60, 160, 90))]
        for y in stride(from: 100, to: 200, by: 6) {
            for x in stride(from: 300, to: 360, by: 6) {
                boxes.append((PixelRect(x: x, y: y, width: 2, height: 2), RGB(20, 250, 200)))
            }
        }
        let found = try proposer.propose(try frame(width: 640, height: 480, boxes: boxes))
        // The dots span x 300..355 and y 100..197: a longer side of 98 px, a square of 30.
        let lamps = found.filter { $0.isFigure && $0.width == 5 * 98 / 16 }
        #expect(lamps.count == 1, "one lamp figure, for the dots, not the square")
        let lamp = try #require(lamps.first)
        let centred: [Int] = [(300 + 356 - 30) / 2, (100 + 198 - 30) / 2]
        #expect([lamp.x0, lamp.y0] == centred)
        #expect(lamp.colour == .green)
        #expect(try lamp.cropRect(frameWidth: 640, frameHeight: 480).width == 4 * 30)
        #expect(lamp.side == 15, "a figure's lamp side for the red veto: half its box")
        // Too small, too large or too long a mass gives none.
        for rect in [PixelRect(x: 100, y: 100, width: 30, height: 30), PixelRect(x: 10, y: 60, width: 400, height: 400),
                     PixelRect(x: 100, y: 100, width: 200, height: 40)] {
            var stripes: [(PixelRect, RGB)] = []
            for x in stride(from: rect.x, to: rect.x + rect.width, by: 3) {
                stripes.append((PixelRect(x: x, y: rect.y, width: 1, height: rect.height), RGB(20, 240, 20)))
            }
            let none = try proposer.propose(try frame(width: 640, height: 480, boxes: stripes))
            #expect(!none.contains { $0.isFigure && $0.width == 5 * max(rect.width, rect.height) / 16 }, "\(rect)")
        }
        // A mass whose crop the reader would enlarge gives none: 20 px is 8 % of a 240 px frame,
        // but its 6 px square crops 24 px, under the reader's 32; at 26 px the crop is 32.
        func lampFigureWidths(side: Int) throws -> [Int] {
            var stripes: [(PixelRect, RGB)] = []
            for x in stride(from: 100, to: 100 + side, by: 2) {
                stripes.append((PixelRect(x: x, y: 100, width: 1, height: side), RGB(20, 240, 20)))
            }
            return try proposer.propose(try frame(width: 300, height: 240, boxes: stripes)).filter(\.isFigure).map(\.width)
        }
        #expect(try lampFigureWidths(side: 20) == [44], "the blob's figure only")
        #expect(try lampFigureWidths(side: 26) == [56, 5 * 26 / 16])
    }

    @Test("A gray image has no lit colour: only the whole frame, as from its RGB copy", arguments: LampFixtures.files)
    func grayImages(file: String) throws {
        let gray = try LampFixtures.image(file).grayscale()
        let proposer = LampProposer()
        let candidates = try proposer.propose(gray)
        let wholeBySize = max(gray.width, gray.height) <= 320
        #expect(candidates == (wholeBySize ? [.wholeFrame(width: gray.width, height: gray.height)] : []))
        #expect(candidates == (try proposer.propose(try gray.rgb())))
    }

    /// Every 24-bit colour, classified 16 pixels at a time, against lamps.colour_classes: the
    /// class counts and two weighted sums over the 2²⁴ colours (pixel i = (i >> 16, i >> 8 & 255,
    /// i & 255); weight i·0x9E3779B97F4A7C15 mod 2⁶⁴) that numpy gave for the Python's classes and
    /// chroma; and every short run at every offset of a 16-pixel group (the scalar tail) agrees.
    @Test("Colour classes of every 24-bit colour are lamps.colour_classes'")
    func colourClassesOfEveryColour() {
        let count = 1 << 24
        var rgb = [UInt8](repeating: 0, count: 3 * count)
        for i in 0..<count {
            rgb[3 * i] = UInt8(truncatingIfNeeded: i >> 16)
            rgb[3 * i + 1] = UInt8(truncatingIfNeeded: i >> 8)
            rgb[3 * i + 2] = UInt8(truncatingIfNeeded: i)
        }
        var classes = [UInt8](repeating: 9, count: count)
        var chroma = [UInt8](repeating: 0, count: count)
        rgb.withUnsafeBufferPointer { source in
            classes.withUnsafeMutableBufferPointer { k in
                chroma.withUnsafeMutableBufferPointer { LampProposer.colourClasses(of: source, classes: k, chroma: $0) }
            }
        }
        var counts = [Int](repeating: 0, count: 4)
        var classSum: UInt64 = 0, chromaSum: UInt64 = 0
        for i in 0..<count {
            let weight = UInt64(i) &* 0x9E37_79B9_7F4A_7C15
            counts[Int(min(classes[i], 3))] += 1
            classSum = classSum &+ UInt64(classes[i]) &* weight
            chromaSum = chromaSum &+ UInt64(chroma[i]) &* weight
        }
        // PYTHONPATH=training python -c 'from lttw import lamps; ...' (the docstring's recipe).
        #expect(counts == [8_498_389, 2_120_644, 1_539_547, 4_618_636])
        #expect(classSum == 0x2d50_58cd_ebd1_e603)
        #expect(chromaSum == 0xb13c_bb8d_5f05_4000)

        // Runs of 1...40 pixels from each offset in a 16-pixel group, from a stretch rich in all
        // four classes: the same classes as the whole pass.
        let start = 0xC0_4020
        var runClasses = [UInt8](repeating: 0, count: 40), runChroma = [UInt8](repeating: 0, count: 40)
        var mismatches = 0
        for offset in 0..<16 {
            for length in 1...40 {
                let from = start + offset
                rgb[(3 * from)..<(3 * (from + length))].withUnsafeBufferPointer { source in
                    runClasses.withUnsafeMutableBufferPointer { k in
                        runChroma.withUnsafeMutableBufferPointer { LampProposer.colourClasses(of: source, classes: k, chroma: $0) }
                    }
                }
                for i in 0..<length where runClasses[i] != classes[from + i] || runChroma[i] != chroma[from + i] {
                    mismatches += 1
                }
            }
        }
        #expect(mismatches == 0)
    }

    @Test("Crop rectangles are centred squares, floor-divided like Python's, past the frame's edge too")
    func cropRects() throws {
        let corner = LampCandidate(x0: 0, y0: 0, x1: 3, y1: 5, colour: .red, score: 100, scale: 1)
        // side = max(4·5, 16) = 20; (0 + 3 - 20) // 2 = -9 (C would truncate to -8).
        #expect(try corner.cropRect(frameWidth: 100, frameHeight: 100) == PixelRect(x: -9, y: -8, width: 20, height: 20))
        let far = LampCandidate(x0: 95, y0: 90, x1: 100, y1: 100, colour: .green, score: 100, scale: 2)
        #expect(try far.cropRect(frameWidth: 100, frameHeight: 100) == PixelRect(x: 77, y: 75, width: 40, height: 40))
    }

    @Test("Positions use the 0.36 and 0.64 cut-offs of the box centre")
    func positions() {
        func at(_ x0: Int, _ x1: Int) -> LampPosition {
            LampCandidate(x0: x0, y0: 0, x1: x1, y1: 4, colour: .red, score: 1, scale: 1).position(frameWidth: 100)
        }
        #expect(at(30, 41) == .left)  // centre 35.5
        #expect(at(30, 42) == .ahead)  // centre 36
        #expect(at(60, 68) == .ahead)  // centre 64
        #expect(at(60, 69) == .right)  // centre 64.5
    }

    @Test("A crop of a uniform frame is that colour normalised; outside the frame is black")
    func uniformAndOutside() throws {
        let image = try Image(width: 50, height: 40, color: RGB(200, 100, 50))
        let mean: [Float] = [0.5, 0.5, 0.5], std: [Float] = [0.25, 0.5, 1]
        var crop = [Float](repeating: .nan, count: 3 * 8 * 8 + 4)
        try crop.withUnsafeMutableBufferPointer { buffer in
            try LampCrop.sample(image, rect: PixelRect(x: 5, y: 5, width: 30, height: 20), size: 8, mean: mean, std: std, into: buffer)
        }
        for (channel, value) in [Float(200), 100, 50].enumerated() {
            let expected = (value / 255 - mean[channel]) / std[channel]
            #expect(crop[channel * 64..<(channel + 1) * 64].allSatisfy { $0 == expected })
        }
        #expect(crop.suffix(4).allSatisfy { $0.isNaN })
        try crop.withUnsafeMutableBufferPointer { buffer in
            try LampCrop.sample(image, rect: PixelRect(x: -100, y: 60, width: 16, height: 16), size: 8, mean: mean, std: std, into: buffer)
        }
        for channel in 0..<3 {
            #expect(crop[channel * 64..<(channel + 1) * 64].allSatisfy { $0 == (0 - mean[channel]) / std[channel] })
        }
    }

    /// lamps.sample_rect written out plainly: each output pixel's block summed pixel by pixel.
    static func referenceCrop(_ image: Image, _ rect: PixelRect, size: Int, mean: [Float], std: [Float]) -> [Float] {
        let c = image.channels, plane = size * size
        var out = [Float](repeating: 0, count: c * plane)
        for i in 0..<size {
            let ys = rect.y + i * rect.height / size, ye = max(rect.y + (i + 1) * rect.height / size, ys + 1)
            for j in 0..<size {
                let xs = rect.x + j * rect.width / size, xe = max(rect.x + (j + 1) * rect.width / size, xs + 1)
                var sums = [Int](repeating: 0, count: c)
                for row in max(ys, 0)..<max(min(ye, image.height), max(ys, 0)) {
                    for col in max(xs, 0)..<max(min(xe, image.width), max(xs, 0)) {
                        for k in 0..<c { sums[k] += Int(image.pixels[(row * image.width + col) * c + k]) }
                    }
                }
                let count = Float((ye - ys) * (xe - xs))
                for k in 0..<c { out[k * plane + i * size + j] = (Float(sums[k]) / count / 255 - mean[k]) / std[k] }
            }
        }
        return out
    }

    @Test("Large crops (read a band of rows at a time) equal the plain per-block sums, in and past the frame",
          arguments: [1, 3])
    func largeCropsMatchReference(channels: Int) throws {
        // 2,500 px wide: a whole-frame square spans several 1,024-pixel column chunks, and a 1×1
        // crop of it one block wider than a chunk.
        let width = 2500, height = 700
        var seed: UInt64 = 0x5eed
        let pixels = (0..<(width * height * channels)).map { _ -> UInt8 in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: seed >> 56)
        }
        let image = try Image(width: width, height: height, channels: channels, pixels: pixels)
        let mean = [Float](repeating: 0.45, count: channels), std = [Float](repeating: 0.22, count: channels)
        let cases: [(PixelRect, Int)] = [
            (PixelRect(x: 0, y: 0, width: width, height: height), 32),
            (PixelRect(x: 0, y: 0, width: width, height: height), 64),
            (PixelRect(x: 0, y: 0, width: width, height: height), 1),
            (PixelRect(x: -300, y: -50, width: 1800, height: 900), 48),
            (PixelRect(x: -301, y: -7, width: 1799, height: 650), 32),
            (PixelRect(x: 2000, y: 400, width: 900, height: 500), 32),
            (PixelRect(x: 100, y: 100, width: 33, height: 40), 32),
            (PixelRect(x: 10, y: 20, width: 20, height: 20), 32),
        ]
        for (rect, size) in cases {
            var crop = [Float](repeating: .nan, count: channels * size * size)
            try crop.withUnsafeMutableBufferPointer { buffer in
                try LampCrop.sample(image, rect: rect, size: size, mean: mean, std: std, into: buffer)
            }
            #expect(crop == Self.referenceCrop(image, rect, size: size, mean: mean, std: std), "\(rect) to \(size)")
        }
        // A white frame: bands of 257 rows fill the 16-bit column sums exactly (257 · 255 = 65,535);
        // 258 rows take the 32-bit ones.
        let white = try Image(width: 40, height: 600, channels: channels, pixels: [UInt8](repeating: 255, count: 40 * 600 * channels))
        for rect in [PixelRect(x: 0, y: 0, width: 40, height: 514), PixelRect(x: 0, y: 0, width: 40, height: 516)] {
            var crop = [Float](repeating: .nan, count: channels * 2 * 2)
            try crop.withUnsafeMutableBufferPointer { buffer in
                try LampCrop.sample(white, rect: rect, size: 2, mean: mean, std: std, into: buffer)
            }
            #expect(crop == Self.referenceCrop(white, rect, size: 2, mean: mean, std: std), "white \(rect)")
        }
    }

    @Test("Bad arguments are refused with invalidArgument")
    func badArguments() throws {
        let image = try Image(width: 20, height: 20, color: .gray)
        let (mean, std) = (Fixtures.mean, Fixtures.std)
        let rect = PixelRect(x: 0, y: 0, width: 10, height: 10)
        var crop = [Float](repeating: 0, count: 3 * 32 * 32)
        func sample(_ rect: PixelRect, size: Int = LampCrop.size, mean: [Float], std: [Float]) -> ImagingError? {
            #expect(throws: ImagingError.self) {
                try crop.withUnsafeMutableBufferPointer { buffer in
                    try LampCrop.sample(image, rect: rect, size: size, mean: mean, std: std, into: buffer)
                }
            }
        }
        func isInvalidArgument(_ error: ImagingError?) -> Bool {
            if case .invalidArgument? = error { true } else { false }
        }
        #expect(isInvalidArgument(sample(PixelRect(x: 0, y: 0, width: 0, height: 10), mean: mean, std: std)))
        #expect(isInvalidArgument(sample(rect, size: 0, mean: mean, std: std)))
        #expect(isInvalidArgument(sample(rect, size: 33, mean: mean, std: std)))  // 3·33·33 floats > 3·32·32
        #expect(isInvalidArgument(sample(rect, mean: [0.5], std: [0.5])))
        #expect(isInvalidArgument(sample(rect, mean: mean, std: [0.2, 0, 0.2])))
        #expect(isInvalidArgument(sample(PixelRect(x: Int(Int32.max) + 1, y: 0, width: 4, height: 4), mean: mean, std: std)))
        let emptyBox = LampCandidate(x0: 5, y0: 5, x1: 5, y1: 9, colour: .red, score: 1, scale: 1)
        let emptyBoxError = #expect(throws: ImagingError.self) { try emptyBox.cropRect(frameWidth: 20, frameHeight: 20) }
        #expect(isInvalidArgument(emptyBoxError))
        let box = LampCandidate(x0: 0, y0: 0, x1: 4, y1: 4, colour: .red, score: 1, scale: 1)
        let noFrameError = #expect(throws: ImagingError.self) { try box.cropRect(frameWidth: 0, frameHeight: 20) }
        #expect(isInvalidArgument(noFrameError))
    }
}
