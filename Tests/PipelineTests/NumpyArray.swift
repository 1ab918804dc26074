import Foundation

/// A `.npy` file (NumPy's format, version 1 or 2, C order, little-endian): enough to read the
/// PyTorch reference outputs the parity tests compare against.
struct NumpyArray {
    var shape: [Int]
    var floats: [Float]
    var bytes: [UInt8]

    enum Problem: Error, CustomStringConvertible {
        case notNumpy(String)
        case unsupported(String, String)
        var description: String {
            switch self {
            case .notNumpy(let path): "\(path): not a .npy file"
            case .unsupported(let path, let what): "\(path): unsupported \(what)"
            }
        }
    }

    init(contentsOf url: URL) throws {
        let data = [UInt8](try Data(contentsOf: url))
        guard data.count > 10, data[0] == 0x93, Array(data[1...5]) == Array("NUMPY".utf8) else {
            throw Problem.notNumpy(url.path)
        }
        let major = data[6]
        let headerLength: Int
        let headerStart: Int
        if major == 1 {
            headerLength = Int(data[8]) | Int(data[9]) << 8
            headerStart = 10
        } else {
            headerLength = Int(data[8]) | Int(data[9]) << 8 | Int(data[10]) << 16 | Int(data[11]) << 24
            headerStart = 12
        }
        let header = String(decoding: data[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard !header.contains("'fortran_order': True") else { throw Problem.unsupported(url.path, "Fortran order") }
        let descr = try Self.field("descr", in: header, path: url.path)
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw Problem.unsupported(url.path, "header \(header)")
        }
        shape = header[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        let payload = Array(data[(headerStart + headerLength)...])
        switch descr {
        case "<f4":
            bytes = []
            floats = stride(from: 0, to: payload.count, by: 4).map { i in
                Float(bitPattern: UInt32(payload[i]) | UInt32(payload[i + 1]) << 8 | UInt32(payload[i + 2]) << 16
                    | UInt32(payload[i + 3]) << 24)
            }
        case "|u1", "<u1":
            bytes = payload
            floats = []
        default:
            throw Problem.unsupported(url.path, "dtype \(descr)")
        }
    }

    private static func field(_ name: String, in header: String, path: String) throws -> String {
        guard let start = header.range(of: "'\(name)': '"), let end = header[start.upperBound...].firstIndex(of: "'") else {
            throw Problem.unsupported(path, "header without \(name)")
        }
        return String(header[start.upperBound..<end])
    }
}

/// How far apart two float arrays are: the largest absolute difference and the normalised mean
/// squared error (‖a − b‖² / ‖b‖²), ggml's measure for comparing kernels with a reference.
struct Difference: CustomStringConvertible {
    var maxAbs: Float
    var nmse: Double

    init(_ a: some Collection<Float>, _ reference: some Collection<Float>) {
        precondition(a.count == reference.count, "comparing \(a.count) values with \(reference.count)")
        var maxAbs: Float = 0
        var error = 0.0, norm = 0.0
        for (x, y) in zip(a, reference) {
            maxAbs = max(maxAbs, abs(x - y))
            error += Double(x - y) * Double(x - y)
            norm += Double(y) * Double(y)
        }
        self.maxAbs = maxAbs
        nmse = norm > 0 ? error / norm : error
    }

    var description: String { "max abs \(maxAbs), NMSE \(nmse)" }
}
