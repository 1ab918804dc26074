import CVBridge

/// Drawing in place, for debug overlays a sighted helper looks at.
extension Image {
    /// Outlines (or, with `thickness: -1`, fills) a rectangle.
    public mutating func drawRectangle(_ rect: PixelRect, color: RGB, thickness: Int = 2) throws(ImagingError) {
        let rgb = [color.red, color.green, color.blue]
        try withMutableView { view throws(ImagingError) in
            try Bridge.call("draw rectangle") {
                cvb_draw_rectangle(
                    view, Int32(rect.x), Int32(rect.y), Int32(rect.width), Int32(rect.height), rgb, Int32(thickness), $0)
            }
        }
    }

    public mutating func drawLine(
        from start: (x: Int, y: Int), to end: (x: Int, y: Int), color: RGB, thickness: Int = 2
    ) throws(ImagingError) {
        let rgb = [color.red, color.green, color.blue]
        try withMutableView { view throws(ImagingError) in
            try Bridge.call("draw line") {
                cvb_draw_line(view, Int32(start.x), Int32(start.y), Int32(end.x), Int32(end.y), rgb, Int32(thickness), $0)
            }
        }
    }

    /// A line with an arrow head at `end`, e.g. the direction of a crosswalk.
    public mutating func drawArrow(
        from start: (x: Int, y: Int), to end: (x: Int, y: Int), color: RGB, thickness: Int = 3
    ) throws(ImagingError) {
        let rgb = [color.red, color.green, color.blue]
        try withMutableView { view throws(ImagingError) in
            try Bridge.call("draw arrow") {
                cvb_draw_arrow(view, Int32(start.x), Int32(start.y), Int32(end.x), Int32(end.y), rgb, Int32(thickness), $0)
            }
        }
    }

    /// ASCII text with its baseline starting at `origin`. Scale 1 is about 22 pixels tall.
    public mutating func drawText(
        _ text: String, at origin: (x: Int, y: Int), scale: Double = 0.6, color: RGB = .white, thickness: Int = 1
    ) throws(ImagingError) {
        let rgb = [color.red, color.green, color.blue]
        try withMutableView { view throws(ImagingError) in
            try Bridge.call("draw text") {
                cvb_draw_text(view, text, Int32(origin.x), Int32(origin.y), scale, rgb, Int32(thickness), $0)
            }
        }
    }

    /// Text on a filled box, readable over any background.
    public mutating func drawLabel(
        _ text: String, at origin: (x: Int, y: Int), scale: Double = 0.6, color: RGB = .white,
        background: RGB = .black
    ) throws(ImagingError) {
        let size = try Image.textSize(text, scale: scale, thickness: 1)
        let box = PixelRect(
            x: origin.x - 2, y: origin.y - size.height - 4, width: size.width + 4, height: size.height + size.baseline + 6)
        try drawRectangle(box, color: background, thickness: -1)
        try drawText(text, at: origin, scale: scale, color: color, thickness: 1)
    }

    /// The size text would take when drawn.
    public static func textSize(
        _ text: String, scale: Double = 0.6, thickness: Int = 1
    ) throws(ImagingError) -> (width: Int, height: Int, baseline: Int) {
        var width: Int32 = 0, height: Int32 = 0, baseline: Int32 = 0
        try Bridge.call("measure text") {
            cvb_measure_text(text, scale, Int32(thickness), &width, &height, &baseline, $0)
        }
        return (Int(width), Int(height), Int(baseline))
    }
}
