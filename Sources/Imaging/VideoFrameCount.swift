import CVBridge

extension FrameSource {
    /// Whether frame `frameCount` (counted from 1) of the video file at `path` can be read. A
    /// container's frame count is what its header or index says, and a truncated file keeps its
    /// header: a cut AVI still says 200 frames. Callers that report the count check it with this
    /// (one seek and one read, on a capture of its own) and call an unconfirmed count an estimate.
    public static func lastFrameReadable(path: String, frameCount: Int) throws(ImagingError) -> Bool {
        var readable: Int32 = 0
        try Bridge.call(path) { cvb_video_check_frame_count(path, Int64(frameCount), &readable, $0) }
        return readable == 1
    }
}
