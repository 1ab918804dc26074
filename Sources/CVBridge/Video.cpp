// Video files and V4L2 cameras through cv::VideoCapture, and a writer for tests and tools.
#include "Internal.hpp"

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <opencv2/core/utils/logger.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <sys/stat.h>

struct cvb_video {
    cv::VideoCapture capture;
    bool isCamera = false;
    std::string devicePath;  // empty for index-opened cameras and files
    std::chrono::steady_clock::time_point opened;
    cv::Mat bgr;             // reused between reads
    int64_t framesRead = 0;
    double fps = 0;
};

struct cvb_video_writer {
    cv::VideoWriter writer;
    cv::Size size;
    cv::Mat bgr;
};

namespace {

bool exists(const char *path) {
    struct stat info {};
    return ::stat(path, &info) == 0;
}

/// OpenCV's backends log every failed probe (GStreamer after FFmpeg) as warnings on stderr; the
/// caller gets the failure as an error value with a message, so only OpenCV's errors are shown.
void quietVideoLogs() {
    static const bool quiet = [] {
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
        return true;
    }();
    (void)quiet;
}

}  // namespace

extern "C" cvb_status cvb_video_open_file(const char *path, cvb_video **out, cvb_error *error) {
    if (path == nullptr || out == nullptr) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "open video: no path");
    *out = nullptr;
    struct stat info {};
    if (::stat(path, &info) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return cvb::fail(error, CVB_ERR_NOT_FOUND, "no such file");
        return cvb::fail(error, CVB_ERR_UNREADABLE, "cannot read it: %s", std::strerror(errno));
    }
    if (S_ISDIR(info.st_mode)) return cvb::fail(error, CVB_ERR_UNREADABLE, "is a folder, not a video file");
    // A FIFO or device has no size (so it is not "empty") and opening it could block forever.
    if (!S_ISREG(info.st_mode)) {
        return cvb::fail(error, CVB_ERR_UNREADABLE, "is not a regular file but %s",
                         S_ISFIFO(info.st_mode) ? "a named pipe (FIFO)" : S_ISSOCK(info.st_mode) ? "a socket" : "a device");
    }
    if (info.st_size == 0) return cvb::fail(error, CVB_ERR_EMPTY, "the file is empty (0 bytes)");
    quietVideoLogs();
    return cvb::guarded(error, "open video", [&]() -> cvb_status {
        auto *video = new cvb_video();
        if (!video->capture.open(path, cv::CAP_ANY) || !video->capture.isOpened()) {
            delete video;
            return cvb::fail(error, CVB_ERR_OPEN_VIDEO,
                             "cannot be opened as a video (unknown container or codec, or damaged data)");
        }
        video->fps = video->capture.get(cv::CAP_PROP_FPS);
        video->opened = std::chrono::steady_clock::now();
        *out = video;
        return cvb::ok(error);
    });
}

extern "C" cvb_status cvb_video_open_camera(const char *path, int32_t index, int32_t width, int32_t height, double fps,
                                            cvb_video **out, cvb_error *error) {
    if (out == nullptr) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "open camera: no output");
    *out = nullptr;
    if (path != nullptr && !exists(path)) {
        return cvb::fail(error, CVB_ERR_NOT_FOUND, "no such camera device (is it plugged in?)");
    }
    if (path == nullptr && index < 0) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "open camera: negative index");
    quietVideoLogs();
    return cvb::guarded(error, "open camera", [&]() -> cvb_status {
        auto *video = new cvb_video();
        video->isCamera = true;
        const bool opened = path != nullptr ? video->capture.open(path, cv::CAP_V4L2)
                                            : video->capture.open(index, cv::CAP_V4L2);
        if (!opened || !video->capture.isOpened()) {
            delete video;
            return cvb::fail(error, CVB_ERR_OPEN_VIDEO,
                             "the camera could not be opened (busy, no permission, or not a video capture device)");
        }
        if (path != nullptr) video->devicePath = path;
        if (width > 0) video->capture.set(cv::CAP_PROP_FRAME_WIDTH, width);
        if (height > 0) video->capture.set(cv::CAP_PROP_FRAME_HEIGHT, height);
        if (fps > 0) video->capture.set(cv::CAP_PROP_FPS, fps);
        video->fps = video->capture.get(cv::CAP_PROP_FPS);
        video->opened = std::chrono::steady_clock::now();
        *out = video;
        return cvb::ok(error);
    });
}

extern "C" void cvb_video_info(const cvb_video *video, int32_t *width, int32_t *height, double *fps,
                               int64_t *frame_count) {
    if (video == nullptr) return;
    auto &capture = const_cast<cv::VideoCapture &>(video->capture);
    if (width) *width = static_cast<int32_t>(capture.get(cv::CAP_PROP_FRAME_WIDTH));
    if (height) *height = static_cast<int32_t>(capture.get(cv::CAP_PROP_FRAME_HEIGHT));
    if (fps) *fps = video->fps > 0 ? video->fps : 0;
    if (frame_count) {
        const double count = video->isCamera ? -1 : capture.get(cv::CAP_PROP_FRAME_COUNT);
        *frame_count = count > 0 ? static_cast<int64_t>(count) : -1;
    }
}

namespace {

cvb_status streamEnded(cvb_video *video, cvb_error *error) {
    if (!video->isCamera) return cvb::fail(error, CVB_ERR_END_OF_STREAM, "end of video after %lld frames",
                                           static_cast<long long>(video->framesRead));
    if (!video->devicePath.empty() && !exists(video->devicePath.c_str())) {
        return cvb::fail(error, CVB_ERR_DEVICE_LOST, "the camera device disappeared");
    }
    return cvb::fail(error, CVB_ERR_DEVICE_LOST, "the camera stopped delivering frames");
}

}  // namespace

extern "C" cvb_status cvb_video_read(cvb_video *video, cvb_image **out, double *timestamp_ms, cvb_error *error) {
    if (video == nullptr || out == nullptr) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "read: no video or output");
    *out = nullptr;
    return cvb::guarded(error, "read frame", [&]() -> cvb_status {
        if (!video->capture.read(video->bgr) || video->bgr.empty()) return streamEnded(video, error);
        double stamp;
        if (video->isCamera) {
            stamp = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - video->opened).count();
        } else {
            stamp = video->capture.get(cv::CAP_PROP_POS_MSEC);
            if (!(stamp >= 0) && video->fps > 0) stamp = 1000.0 * double(video->framesRead) / video->fps;
        }
        auto *image = new cvb_image();
        if (video->bgr.channels() == 1) cv::cvtColor(video->bgr, image->pixels, cv::COLOR_GRAY2RGB);
        else cv::cvtColor(video->bgr, image->pixels, cv::COLOR_BGR2RGB);
        ++video->framesRead;
        if (timestamp_ms) *timestamp_ms = stamp;
        *out = image;
        return cvb::ok(error);
    });
}

extern "C" cvb_status cvb_video_skip(cvb_video *video, cvb_error *error) {
    if (video == nullptr) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "skip: no video");
    return cvb::guarded(error, "skip frame", [&]() -> cvb_status {
        if (!video->capture.grab()) return streamEnded(video, error);
        ++video->framesRead;
        return cvb::ok(error);
    });
}

extern "C" void cvb_video_close(cvb_video *video) {
    if (video == nullptr) return;
    try {
        video->capture.release();
    } catch (...) {
        // Releasing a vanished device may throw inside OpenCV; the handle goes away regardless.
    }
    delete video;
}

extern "C" cvb_status cvb_video_writer_open(const char *path, const char *fourcc, double fps, int32_t width,
                                            int32_t height, cvb_video_writer **out, cvb_error *error) {
    if (path == nullptr || fourcc == nullptr || std::strlen(fourcc) != 4 || out == nullptr || !(fps > 0) ||
        width <= 0 || height <= 0) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "video writer: bad path, codec, fps or size");
    }
    *out = nullptr;
    return cvb::guarded(error, "open video writer", [&]() -> cvb_status {
        auto *writer = new cvb_video_writer();
        writer->size = cv::Size(width, height);
        const int code = cv::VideoWriter::fourcc(fourcc[0], fourcc[1], fourcc[2], fourcc[3]);
        if (!writer->writer.open(path, code, fps, writer->size, true) || !writer->writer.isOpened()) {
            delete writer;
            return cvb::fail(error, CVB_ERR_ENCODE, "cannot write a %s video there (codec or container unsupported, or folder missing)",
                             fourcc);
        }
        *out = writer;
        return cvb::ok(error);
    });
}

extern "C" cvb_status cvb_video_writer_write(cvb_video_writer *writer, const cvb_view *frame, cvb_error *error) {
    cv::Mat m;
    if (writer == nullptr || !cvb::matFromView(frame, m)) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "video writer: bad writer or frame");
    }
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

extern "C" void cvb_video_writer_close(cvb_video_writer *writer) {
    if (writer == nullptr) return;
    try {
        writer->writer.release();
    } catch (...) {
        // Finishing the file can fail on a full disk; nothing more can be done here.
    }
    delete writer;
}

extern "C" cvb_status cvb_video_check_frame_count(const char *path, int64_t frame_count, int32_t *readable,
                                                  cvb_error *error) {
    if (path == nullptr || readable == nullptr || frame_count < 1) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "check frame count: no path, no output or no count");
    }
    *readable = 0;
    struct stat info {};
    if (::stat(path, &info) != 0 || !S_ISREG(info.st_mode)) {
        return cvb::fail(error, CVB_ERR_UNREADABLE, "check frame count: not a regular file");
    }
    quietVideoLogs();
    return cvb::guarded(error, "check frame count", [&]() -> cvb_status {
        cv::VideoCapture capture;
        if (!capture.open(path, cv::CAP_ANY) || !capture.isOpened()) {
            return cvb::fail(error, CVB_ERR_OPEN_VIDEO, "cannot be opened as a video");
        }
        // A seek past the data "succeeds"; only reading the frame tells whether it is there.
        capture.set(cv::CAP_PROP_POS_FRAMES, double(frame_count - 1));
        *readable = capture.grab() ? 1 : 0;
        return cvb::ok(error);
    });
}
