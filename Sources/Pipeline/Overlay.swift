import Foundation
import Imaging
import Vision

/// Draws a frame's facts onto the picture, for a sighted helper checking what the assistant
/// understood: the light state in a coloured banner, the crosswalk as an arrow along its heading
/// from where it starts, obstacles in their third of the image with their distance, and the
/// description along the bottom. With the signal expert's decision, the lamp it read is outlined
/// in the state's colour, the banner says why when it would not say, and a candidate its second
/// look set aside is outlined in grey: which blob the light came from is the first question when
/// a light is wrong.
public enum Overlay {
    /// The tallest overlay drawn: a narrow picture is widened to 480 px for legible labels only
    /// while its height stays under this (a 1×100000 image would otherwise ask for 69 GB).
    public static let maxHeight = 1440

    public static func draw(
        _ facts: SceneFacts, on image: Image, maxWidth: Int = 960, signal: SignalDecision? = nil
    ) throws(ImagingError) -> Image {
        var canvas = try image.rgb()
        let (width, height) = canvasSize(width: canvas.width, height: canvas.height, maxWidth: maxWidth)
        if width != canvas.width || height != canvas.height {
            canvas = try canvas.resized(
                width: width, height: height, interpolation: width > canvas.width ? .bilinear : .area)
        }
        let w = canvas.width, h = canvas.height
        let scale = Double(w) / 640

        if let signal {
            let toCanvas = Double(w) / Double(image.width)
            if let box = signal.setAsideBox {
                let label = String(format: "set aside: verifier %.2f", signal.setAsideVerifierGreen ?? 0)
                try outline(box, on: &canvas, factor: toCanvas, color: .gray, label: label, scale: scale)
            }
            // The whole-frame candidate (a close-up) is the picture itself: the banner says it all.
            if let box = signal.box, !box.isWholeFrame {
                // What the lamp reads as (its strongest lit mass), whatever the frame then said.
                let m = signal.masses
                let reads = [("red", m.red), ("green", m.green), ("yellow", m.yellow)].max { $0.1 < $1.1 }!
                let label = String(format: "reads %@ %.2f", reads.0, reads.1)
                try outline(box, on: &canvas, factor: toCanvas, color: lampColor(of: signal.state), label: label, scale: scale)
            }
        }

        if let light = facts.light {
            let text = "LIGHT: \(light.state.rawValue.uppercased())"
                + (light.kind.map { " (\($0.rawValue))" } ?? "")
                + (light.position.map { " \($0.rawValue)" } ?? "")
                + (light.secondsLeft.map { ", \($0) s" } ?? "")
                + String(format: "  p=%.2f", light.confidence)
            try canvas.drawLabel(text, at: (8, Int(28 * scale)), scale: 0.7 * scale, color: .white, background: color(of: light.state))
            if let why = signal?.reason {
                try canvas.drawLabel(why.rawValue, at: (8, Int(54 * scale)), scale: 0.5 * scale, color: .white, background: color(of: light.state))
            }
        }

        if let crosswalk = facts.crosswalk, crosswalk.present {
            let startX = switch crosswalk.offset ?? .ahead {
            case .left: w / 4
            case .ahead: w / 2
            case .right: 3 * w / 4
            }
            let radians = (crosswalk.headingDegrees ?? 0) * .pi / 180
            let length = Double(h) * 0.35
            let baseY = h - Int(44 * scale)
            let end = (startX + Int(sin(radians) * length), baseY - Int(cos(radians) * length))
            try canvas.drawArrow(from: (startX, baseY), to: end, color: .yellow, thickness: max(2, Int(4 * scale)))
            let label = String(format: "crosswalk %@ %+.0f deg", (crosswalk.offset ?? .ahead).rawValue, crosswalk.headingDegrees ?? 0)
            try canvas.drawLabel(
                label, at: (max(4, min(w - Int(200 * scale), end.0 - Int(80 * scale))), max(Int(60 * scale), end.1 - Int(12 * scale))),
                scale: 0.5 * scale, color: .black, background: .yellow)
        }

        var rowsUsed: [Position: Int] = [:]
        for obstacle in facts.obstacles {
            let row = rowsUsed[obstacle.position, default: 0]
            rowsUsed[obstacle.position] = row + 1
            let x = switch obstacle.position {
            case .left: 8
            case .ahead: w / 3 + 8
            case .right: 2 * w / 3 + 8
            }
            let y = Int(70 * scale) + row * Int(26 * scale)
            try canvas.drawLabel(
                String(format: "%@ %@ %.2f", obstacle.kind, obstacle.distance.rawValue, obstacle.confidence),
                at: (x, y), scale: 0.55 * scale, color: .white, background: RGB(90, 60, 160))
        }

        if let description = facts.description, !description.isEmpty {
            let ascii = String(description.unicodeScalars.filter { $0.isASCII }.map(Character.init))
            if !ascii.trimmingCharacters(in: .whitespaces).isEmpty {
                try canvas.drawLabel(ascii, at: (8, h - Int(12 * scale)), scale: 0.5 * scale, color: .white, background: .black)
            }
        }
        return canvas
    }

    /// Outlines a lamp box given in frame pixels (`factor`: canvas pixels per frame pixel), a few
    /// pixels out so a 3-pixel lamp stays visible, with `label` above it.
    static func outline(
        _ box: LampCandidate, on canvas: inout Image, factor: Double, color: RGB, label: String, scale: Double
    ) throws(ImagingError) {
        let margin = max(2, Int(3 * scale))
        let x0 = max(0, Int(Double(box.x0) * factor) - margin), y0 = max(0, Int(Double(box.y0) * factor) - margin)
        let x1 = min(canvas.width - 1, Int(Double(box.x1) * factor) + margin)
        let y1 = min(canvas.height - 1, Int(Double(box.y1) * factor) + margin)
        guard x1 > x0, y1 > y0 else { return }
        try canvas.drawRectangle(PixelRect(x: x0, y: y0, width: x1 - x0, height: y1 - y0), color: color, thickness: max(2, Int(2 * scale)))
        try canvas.drawLabel(
            label, at: (x0, max(Int(14 * scale), y0 - Int(4 * scale))), scale: 0.45 * scale, color: .black, background: color)
    }

    /// The outline of the lamp the light came from: the state's colour, white when unknown (the
    /// banner's dark grey vanishes on a night street).
    static func lampColor(of state: LightState) -> RGB {
        state == .unknown ? .white : color(of: state)
    }

    static func color(of state: LightState) -> RGB {
        switch state {
        case .red: .red
        case .green: RGB(20, 150, 50)
        case .yellow, .flashing: RGB(200, 150, 0)
        case .off, .none: .gray
        case .unknown: RGB(70, 70, 70)
        }
    }

    /// The overlay's size for a `width`×`height` picture: at most `maxWidth` wide, widened to
    /// 480 px when narrower, never taller than `maxHeight`, the aspect kept (each side at least 1).
    public static func canvasSize(width: Int, height: Int, maxWidth: Int = 960) -> (width: Int, height: Int) {
        let w = Double(width), h = Double(height)
        var factor = w > Double(maxWidth) ? Double(maxWidth) / w : (w < 480 ? 480 / w : 1)
        factor = min(factor, Double(maxHeight) / h)
        return (max(1, Int((w * factor).rounded())), max(1, Int((h * factor).rounded())))
    }
}
