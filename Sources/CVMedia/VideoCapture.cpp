// Video files and V4L2 cameras through cv::VideoCapture. CVBridge (Video.cpp) has already checked
// the arguments and that the file is a non-empty regular file or the device exists.
#include "Media.hpp"

#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <chrono>
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

namespace {

bool exists(const char *path) {
    struct stat info {};
    return ::stat(path, &info) == 0;
}

cvb_status streamEnded(cvb_video *video, cvb_error *error) {
    if (!video->isCamera) return cvb::fail(error, CVB_ERR_END_OF_STREAM, "end of video after %lld frames",
                                           static_cast<long long>(video->framesRead));
    if (!video->devicePath.empty() && !exists(video->devicePath.c_str())) {
        return cvb::fail(error, CVB_ERR_DEVICE_LOST, "the camera device disappeared");
    }
    return cvb::fail(error, CVB_ERR_DEVICE_LOST, "the camera stopped delivering frames");
}

}  // namespace

void cvm::quietVideoLogs() {
    static const bool quiet = [] {
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
        return true;
    }();
    (void)quiet;
}

cvb_status cvm::videoOpenFile(const char *path, cvb_video **out, cvb_error *error) {
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

cvb_status cvm::videoOpenCamera(const char *path, int32_t index, int32_t width, int32_t height, double fps,
                                cvb_video **out, cvb_error *error) {
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

void cvm::videoInfo(const cvb_video *video, int32_t *width, int32_t *height, double *fps, int64_t *frameCount) {
    auto &capture = const_cast<cv::VideoCapture &>(video->capture);
    if (width) *width = static_cast<int32_t>(capture.get(cv::CAP_PROP_FRAME_WIDTH));
    if (height) *height = static_cast<int32_t>(capture.get(cv::CAP_PROP_FRAME_HEIGHT));
    if (fps) *fps = video->fps > 0 ? video->fps : 0;
    if (frameCount) {
        const double count = video->isCamera ? -1 : capture.get(cv::CAP_PROP_FRAME_COUNT);
        *frameCount = count > 0 ? static_cast<int64_t>(count) : -1;
    }
}

cvb_status cvm::videoRead(cvb_video *video, cvb_image **out, double *timestampMs, cvb_error *error) {
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
        if (timestampMs) *timestampMs = stamp;
        *out = image;
        return cvb::ok(error);
    });
}

cvb_status cvm::videoSkip(cvb_video *video, cvb_error *error) {
    return cvb::guarded(error, "skip frame", [&]() -> cvb_status {
        if (!video->capture.grab()) return streamEnded(video, error);
        ++video->framesRead;
        return cvb::ok(error);
    });
}

void cvm::videoClose(cvb_video *video) {
    try {
        video->capture.release();
    } catch (...) {
        // Releasing a vanished device may throw inside OpenCV; the handle goes away regardless.
    }
    delete video;
}

cvb_status cvm::videoCheckFrameCount(const char *path, int64_t frameCount, int32_t *readable, cvb_error *error) {
    quietVideoLogs();
    return cvb::guarded(error, "check frame count", [&]() -> cvb_status {
        cv::VideoCapture capture;
        if (!capture.open(path, cv::CAP_ANY) || !capture.isOpened()) {
            return cvb::fail(error, CVB_ERR_OPEN_VIDEO, "cannot be opened as a video");
        }
        // A seek past the data "succeeds"; only reading the frame tells whether it is there.
        capture.set(cv::CAP_PROP_POS_FRAMES, double(frameCount - 1));
        *readable = capture.grab() ? 1 : 0;
        return cvb::ok(error);
    });
}
