@testable import Kernels
import Testing

/// MobileNetV2's depthwise convolution (`DepthwiseConvolution`, CKernels' lttw_depthwise3x3) on
/// every kernel this CPU runs, against a Double reference written from the definition: PyTorch's
/// `Conv2d(c, c, 3, stride, 1, groups=c)` on an input in [0, 6] (the ReLU6 of the product before
/// it, fused there), then the batch norm's scale and shift, then ReLU6.
@Suite("Depthwise 3×3 convolution")
struct DepthwiseConvolutionTests {
    /// x [size², c] position-major; weight [c, 1, 3, 3] as PyTorch stores it.
    static func reference(_ x: [Float], size: Int, channels c: Int, stride: Int, weight: [Float], scale: [Float], shift: [Float]) -> [Float] {
        func relu6(_ v: Double) -> Double { min(max(v, 0), 6) }
        let out = (size - 1) / stride + 1
        var y = [Float](repeating: 0, count: out * out * c)
        for oy in 0..<out {
            for ox in 0..<out {
                for channel in 0..<c {
                    var sum = 0.0
                    for ky in 0..<3 {
                        for kx in 0..<3 {
                            let iy = oy * stride - 1 + ky, ix = ox * stride - 1 + kx
                            guard iy >= 0, iy < size, ix >= 0, ix < size else { continue }
                            sum += Double(x[(iy * size + ix) * c + channel]) * Double(weight[channel * 9 + ky * 3 + kx])
                        }
                    }
                    y[(oy * out + ox) * c + channel] = Float(relu6(sum * Double(scale[channel]) + Double(shift[channel])))
                }
            }
        }
        return y
    }

    @Test("Matches the definition: strides 1 and 2, odd and even sides, channels off the vector width, in two shares",
          arguments: GEMMKernel.supported)
    func matchesDefinition(kernel: GEMMKernel) {
        var random = SeededRandom(seed: 21)
        var outputs: [Float] = []
        for (size, channels, stride) in [(8, 16, 1), (8, 16, 2), (7, 24, 2), (5, 5, 1), (9, 37, 2), (1, 8, 1), (16, 96, 1),
                                           (2, 16, 1), (3, 16, 2), (3, 33, 1), (4, 20, 2), (10, 48, 2)] {
            // Inputs on [0, 6], as the product before writes them.
            let x = random.floats(size * size * channels, scale: 3).map { $0 + 3 }
            let weight = random.floats(9 * channels), scale = random.floats(channels).map { $0 + 1.5 }
            let shift = random.floats(channels, scale: 2)
            let convolution = weight.withUnsafeBufferPointer {
                DepthwiseConvolution(weight: $0, scale: scale, shift: shift, stride: stride, kernel: kernel)
            }
            let out = convolution.outputSize(size)
            #expect(out == (size - 1) / stride + 1)
            let y = Tensor(shape: [out * out, channels])
            y.storage.initialize(repeating: .nan)
            let half = out * out / 2
            x.withUnsafeBufferPointer { input in
                // Two shares, as two lanes would run them; together they write every position.
                convolution.apply(input.baseAddress!, size: size, into: y.storage.baseAddress!, positions: half..<(out * out))
                convolution.apply(input.baseAddress!, size: size, into: y.storage.baseAddress!, positions: 0..<half)
            }
            let expected = Self.reference(x, size: size, channels: channels, stride: stride, weight: weight, scale: scale, shift: shift)
            expectClose(y.values, expected, atol: 2e-5, rtol: 1e-5, "size \(size) channels \(channels) stride \(stride) on \(kernel)")
            outputs += y.values
        }
        #expect(outputs.allSatisfy { $0 >= 0 && $0 <= 6 }, "the output's ReLU6")
        #expect(outputs.contains(6) && outputs.contains(0), "the cases meet both of the output's clamps")
    }
}
