import Testing
@testable import Imaging

@Suite("Drawing and encoding")
struct DrawingTests {
    @Test("A filled rectangle colours exactly its pixels")
    func filledRectangle() throws {
        var canvas = try Image(width: 40, height: 30, color: .black)
        try canvas.drawRectangle(PixelRect(x: 5, y: 6, width: 10, height: 8), color: .red, thickness: -1)
        #expect(canvas.pixel(x: 5, y: 6) == [230, 40, 40])
        #expect(canvas.pixel(x: 14, y: 13) == [230, 40, 40])
        #expect(canvas.pixel(x: 15, y: 13) == [0, 0, 0])
        #expect(canvas.pixel(x: 4, y: 6) == [0, 0, 0])
        let coloured = stride(from: 0, to: canvas.pixels.count, by: 3).filter { canvas.pixels[$0] == 230 }.count
        #expect(coloured == 80)
    }

    @Test("Drawing does not touch copies (value semantics)")
    func copyOnWrite() throws {
        let original = try Image(width: 20, height: 20, color: .white)
        var drawn = original
        try drawn.drawLine(from: (0, 0), to: (19, 19), color: .blue, thickness: 2)
        #expect(original.pixels.allSatisfy { $0 == 255 })
        #expect(drawn != original)
        #expect(drawn.pixel(x: 10, y: 10) != [255, 255, 255])
    }

    @Test("Text and labels mark pixels inside their measured box")
    func text() throws {
        var canvas = try Image(width: 200, height: 60, color: .black)
        let size = try Image.textSize("RED", scale: 1, thickness: 2)
        #expect(size.width > 20 && size.height > 10)
        try canvas.drawText("RED", at: (10, 40), scale: 1, color: .white, thickness: 2)
        var lit = 0
        for y in 0..<60 {
            for x in 0..<200 where canvas.pixel(x: x, y: y)[0] > 0 {
                lit += 1
                #expect(x >= 9 && x <= 10 + size.width + 1 && y >= 40 - size.height - 1 && y <= 40 + size.baseline)
            }
        }
        #expect(lit > 50)
        try canvas.drawLabel("walk", at: (120, 30), background: .green)
        #expect(canvas.pixel(x: 119, y: 31) == [40, 200, 70])
    }

    @Test("An arrow is drawn from start to end")
    func arrow() throws {
        var canvas = try Image(width: 50, height: 50, color: .black)
        try canvas.drawArrow(from: (25, 45), to: (25, 5), color: .yellow, thickness: 3)
        #expect(canvas.pixel(x: 25, y: 25) == [250, 210, 40])
        #expect(canvas.pixel(x: 5, y: 25) == [0, 0, 0])
    }

    @Test("Writing picks the format from the extension and refuses unknown ones")
    func writeByExtension() throws {
        let folder = try ScratchFolder()
        let scene = try Fixtures.scene()
        try scene.write(to: folder.path("out.png"))
        #expect(try Image.decode(file: folder.path("out.png")) == scene)
        #expect(throws: ImagingError.self) { try scene.write(to: folder.path("out.gif")) }
        #expect(throws: ImagingError.self) { try scene.write(to: "/nonexistent/folder/out.png") }
    }
}
