import Imaging

/// Tells a camera that has stopped seeing from one that shows a still street.
///
/// A live sensor never delivers the same picture twice: its noise changes some pixel in every
/// frame, even of a still scene. A stuck driver, a capture dongle that lost its input or a
/// loopback device whose writer died hands back its last picture again and again, and each copy
/// would be taken for a fresh view of the street: a green confirmed before the freeze would stay
/// fresh for ever (safety rule 2). The watch fingerprints each picture and dates it to when that
/// picture first came, so that a repeated picture ages exactly like a missing one.
///
/// Only for live cameras: a video file or a folder may hold the same picture many times on
/// purpose.
struct FrozenPictureWatch: Sendable {
    private var fingerprint: UInt64?
    /// When the picture now showing first came.
    private(set) var firstSeen = 0.0

    /// The time `image`, received at `time`, first came in the run of identical pictures it ends.
    mutating func date(_ image: Image, receivedAt time: Double) -> Double {
        let print = Self.fingerprint(of: image)
        if print != fingerprint {
            fingerprint = print
            firstSeen = time
        }
        return firstSeen
    }

    /// How long the picture now showing has been showing, at `time`.
    func unchangedFor(at time: Double) -> Double {
        fingerprint == nil ? 0 : time - firstSeen
    }

    /// FNV-1a over 8-byte words of every pixel, seeded with the size. Word-wise FNV mixes the
    /// high bytes of a word weakly, so two pictures differing only there share a print more
    /// often than 64 bits suggest; a live sensor's noise reaches every byte, and a shared print
    /// would only make a live frame look frozen: the safe side.
    static func fingerprint(of image: Image) -> UInt64 {
        let prime: UInt64 = 0x0000_0100_0000_01B3
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        hash = (hash ^ UInt64(image.width)) &* prime
        hash = (hash ^ UInt64(image.height)) &* prime
        hash = (hash ^ UInt64(image.channels)) &* prime
        image.pixels.withUnsafeBytes { bytes in
            let words = bytes.count / 8
            for index in 0..<words {
                hash = (hash ^ bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)) &* prime
            }
            for index in (words * 8)..<bytes.count {
                hash = (hash ^ UInt64(bytes[index])) &* prime
            }
        }
        return hash
    }
}
