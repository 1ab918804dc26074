import Foundation
import Kernels
import Testing
@testable import Vision

/// The convolutional stem's im2col products against a direct 3×3, stride-2, padding-1
/// convolution written out loop by loop, on odd and even sizes, with and without GELU between.
@Suite("Convolutional stem")
struct ConvolutionalStemTests {
    /// Tensors held in arrays, named as the stem reads them.
    final class ArrayWeights: WeightSource {
        var tensors: [String: (shape: [Int], values: UnsafeMutableBufferPointer<Float>)] = [:]

        func add(_ name: String, shape: [Int], seed: Int) {
            let count = shape.reduce(1, *)
            let values = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            for i in 0..<count { values[i] = Float(((i * 7919 + seed * 104_729) % 2001) - 1000) / 4000 }
            tensors[name] = (shape, values)
        }

        func values(_ name: String, shape: [Int]) throws -> UnsafeBufferPointer<Float> {
            guard let t = tensors[name], t.shape == shape else { throw CocoaError(.coderValueNotFound) }
            return UnsafeBufferPointer(t.values)
        }

        deinit { for t in tensors.values { t.values.deallocate() } }
    }

    /// Direct convolution of a CHW input, output CHW.
    static func convolve(_ input: [Float], channels: Int, size: Int, weight: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>, outputs: Int) -> [Float] {
        let out = (size - 1) / 2 + 1
        var result = [Float](repeating: 0, count: outputs * out * out)
        for o in 0..<outputs {
            for oy in 0..<out {
                for ox in 0..<out {
                    var sum = Double(bias[o])
                    for c in 0..<channels {
                        for ky in 0..<3 {
                            for kx in 0..<3 {
                                let y = 2 * oy - 1 + ky, x = 2 * ox - 1 + kx
                                guard y >= 0, y < size, x >= 0, x < size else { continue }
                                sum += Double(weight[((o * channels + c) * 3 + ky) * 3 + kx]) * Double(input[(c * size + y) * size + x])
                            }
                        }
                    }
                    result[(o * out + oy) * out + ox] = Float(sum)
                }
            }
        }
        return result
    }

    static func gelu(_ x: Float) -> Float { 0.5 * x * (1 + Float(erf(Double(x) / 2.0.squareRoot()))) }

    @Test("Every layer matches a direct convolution", arguments: [16, 13])
    func matchesDirectConvolution(size: Int) throws {
        let channels = [3, 5, 8, 6]
        let weights = ArrayWeights()
        for i in 0..<(channels.count - 1) {
            weights.add("stem.\(2 * i).weight", shape: [channels[i + 1], channels[i], 3, 3], seed: i)
            weights.add("stem.\(2 * i).bias", shape: [channels[i + 1]], seed: 10 + i)
        }
        let stem = try ConvolutionalStem(weights, prefix: "stem", channels: channels, imageSize: size)
        let image = (0..<(3 * size * size)).map { Float(($0 * 37) % 101) / 50 - 1 }

        var expected = image, side = size
        for i in 0..<(channels.count - 1) {
            let w = try weights.values("stem.\(2 * i).weight", shape: [channels[i + 1], channels[i], 3, 3])
            let b = try weights.values("stem.\(2 * i).bias", shape: [channels[i + 1]])
            expected = Self.convolve(expected, channels: channels[i], size: side, weight: w, bias: b, outputs: channels[i + 1])
            if i + 2 < channels.count { expected = expected.map(Self.gelu) }
            side = (side - 1) / 2 + 1
        }
        #expect(stem.outputSize == side)

        let state = ConvolutionalStem.State(stem)
        image.withUnsafeBufferPointer { stem.embed($0, state: state) }
        // The stem writes position-major [side², width]; the reference is CHW.
        let width = channels.last!
        var worst: Float = 0
        for c in 0..<width {
            for p in 0..<(side * side) {
                worst = max(worst, abs(state.tokens.storage[p * width + c] - expected[c * side * side + p]))
            }
        }
        #expect(worst < 1e-4, "stem differs from the direct convolution by \(worst)")
    }
}
