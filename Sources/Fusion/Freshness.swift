/// When a frame is too old to speak about. Safety rule 2 of DESIGN.md: a stale frame never
/// produces a light state.
public struct Freshness: Sendable, Hashable {
    /// The oldest a frame may be, in seconds, when its facts are used.
    public var maxAge: Double

    public init(maxAge: Double = 0.5) {
        self.maxAge = maxAge
    }

    /// Whether a frame taken at `frameTime` may still be spoken about at `now` (same clock).
    public func isFresh(frameTime: Double, now: Double) -> Bool {
        let age = now - frameTime
        return age >= 0 && age <= maxAge
    }
}
