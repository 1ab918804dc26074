// Writing videos through cv::VideoWriter (overlay videos, test clips). CVBridge (Video.cpp) has
// already checked the arguments and that each frame is a well-formed view.
#include "Media.hpp"

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

struct cvb_video_writer {
    cv::VideoWriter writer;
    cv::Size size;
    cv::Mat bgr;
};

cvb_status cvm::writerOpen(const char *path, const char *fourcc, double fps, int32_t width, int32_t height,
                           cvb_video_writer **out, cvb_error *error) {
    return cvb::guarded(error, "open video writer", [&]() -> cvb_status {
        auto *writer = new cvb_video_writer();
        writer->size = cv::Size(width, height);
        const int code = cv::VideoWriter::fourcc(fourcc[0], fourcc[1], fourcc[2], fourcc[3]);
        if (!writer->writer.open(path, code, fps, writer->size, true) || !writer->writer.isOpened()) {
            delete writer;
            return cvb::fail(error, CVB_ERR_ENCODE,
                             "cannot write a %s video there (codec or container unsupported, or folder missing)", fourcc);
        }
        *out = writer;
        return cvb::ok(error);
    });
}

cvb_status cvm::writerWrite(cvb_video_writer *writer, const cvb_view *frame, cvb_error *error) {
    cv::Mat m;
    if (!cvb::matFromView(frame, m)) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "video writer: bad frame");
    if (m.size() != writer->size) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "video writer: frame is %d×%d, the video is %d×%d", m.cols,
                         m.rows, writer->size.width, writer->size.height);
    }
    return cvb::guarded(error, "write frame", [&]() -> cvb_status {
        if (m.channels() == 3) cv::cvtColor(m, writer->bgr, cv::COLOR_RGB2BGR);
        else cv::cvtColor(m, writer->bgr, cv::COLOR_GRAY2BGR);
        writer->writer.write(writer->bgr);
        return cvb::ok(error);
    });
}

void cvm::writerClose(cvb_video_writer *writer) {
    try {
        writer->writer.release();
    } catch (...) {
        // Finishing the file can fail on a full disk; nothing more can be done here.
    }
    delete writer;
}
