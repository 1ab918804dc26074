import Imaging
import Kernels

/// The green verifier's network, as config.json's `signal_expert.green_verifier.architecture`
/// names it: the patch reader (`CropReader`, the verifier since it was built) or MobileNetV2's
/// first ImageNet layers (`MobileNetCropReader`). Both read the same squares into the same rows.
public struct GreenVerifierReader: @unchecked Sendable {
    public enum Network: @unchecked Sendable {
        case patchReader(CropReader)
        case mobileNet(MobileNetCropReader)
    }

    public let network: Network

    init(_ source: some WeightSource, _ c: SignalExpertConfiguration.GreenVerifier) throws {
        switch c.network {
        case .patchReader(let a):
            network = .patchReader(
                try CropReader(
                    source, geometry: a.geometry, prefix: c.weightsPrefix, headHidden: a.headHidden, classCount: c.classes.count,
                    temperature: c.temperature))
        case .mobileNet(let a):
            network = .mobileNet(
                try MobileNetCropReader(
                    source, prefix: c.weightsPrefix, architecture: a, classCount: c.classes.count, temperature: c.temperature))
        }
    }

    /// Side of the square crops it reads.
    public var cropSize: Int {
        switch network {
        case .patchReader(let reader): reader.geometry.imageSize
        case .mobileNet(let reader): reader.cropSize
        }
    }

    /// Rows for `capacity` crops.
    public func rows(capacity: Int) -> CropReader.Rows {
        switch network {
        case .patchReader(let reader): CropReader.Rows(reader, capacity: capacity)
        case .mobileNet(let reader): reader.rows(capacity: capacity)
        }
    }

    /// One stream's per-lane activations for this network.
    public enum Lanes {
        case patchReader([CropReader.LaneState])
        case mobileNet([MobileNetCropReader.LaneState])
    }

    public func lanes() -> Lanes {
        switch network {
        case .patchReader(let reader): .patchReader(reader.lanes())
        case .mobileNet(let reader): .mobileNet(reader.lanes())
        }
    }

    /// Samples (with `sampling`) and reads the first `count` rows of `rows`.
    func read(_ rows: CropReader.Rows, count: Int, lanes: Lanes, sampling: some CropSampling) throws(ImagingError) {
        switch (network, lanes) {
        case (.patchReader(let reader), .patchReader(let lanes)):
            try reader.read(rows, count: count, lanes: lanes, sampling: sampling)
        case (.mobileNet(let reader), .mobileNet(let lanes)):
            try reader.read(rows, count: count, lanes: lanes, sampling: sampling)
        default:
            preconditionFailure("GreenVerifierReader: lanes made for another network")
        }
    }
}
