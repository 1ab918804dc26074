// Video files and V4L2 cameras, and a writer for tests and tools. The arguments and the file or
// device are checked here, so that a missing, empty or odd file is reported the same with or
// without the media plugin; cv::VideoCapture and cv::VideoWriter themselves are in the plugin
// (MediaPlugin.h), loaded on the first video or camera.
#include "Internal.hpp"
#include "MediaLibrary.hpp"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>

namespace {

/// Every handle was made by the plugin, so it is loaded once a handle exists.
const cvm_table &loadedMedia() { return *cvb::media(nullptr); }

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
    const cvm_table *media = cvb::media(error);
    if (media == nullptr) return CVB_ERR_MISSING_LIBRARY;
    return media->video_open_file(path, out, error);
}

extern "C" cvb_status cvb_video_open_camera(const char *path, int32_t index, int32_t width, int32_t height, double fps,
                                            cvb_video **out, cvb_error *error) {
    if (out == nullptr) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "open camera: no output");
    *out = nullptr;
    struct stat info {};
    if (path != nullptr && ::stat(path, &info) != 0) {
        return cvb::fail(error, CVB_ERR_NOT_FOUND, "no such camera device (is it plugged in?)");
    }
    if (path == nullptr && index < 0) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "open camera: negative index");
    const cvm_table *media = cvb::media(error);
    if (media == nullptr) return CVB_ERR_MISSING_LIBRARY;
    return media->video_open_camera(path, index, width, height, fps, out, error);
}

extern "C" void cvb_video_info(const cvb_video *video, int32_t *width, int32_t *height, double *fps,
                               int64_t *frame_count) {
    if (video == nullptr) return;
    loadedMedia().video_info(video, width, height, fps, frame_count);
}

extern "C" cvb_status cvb_video_read(cvb_video *video, cvb_image **out, double *timestamp_ms, cvb_error *error) {
    if (video == nullptr || out == nullptr) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "read: no video or output");
    *out = nullptr;
    return loadedMedia().video_read(video, out, timestamp_ms, error);
}

extern "C" cvb_status cvb_video_skip(cvb_video *video, cvb_error *error) {
    if (video == nullptr) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "skip: no video");
    return loadedMedia().video_skip(video, error);
}

extern "C" void cvb_video_close(cvb_video *video) {
    if (video == nullptr) return;
    loadedMedia().video_close(video);
}

extern "C" cvb_status cvb_video_writer_open(const char *path, const char *fourcc, double fps, int32_t width,
                                            int32_t height, cvb_video_writer **out, cvb_error *error) {
    if (path == nullptr || fourcc == nullptr || std::strlen(fourcc) != 4 || out == nullptr || !(fps > 0) ||
        width <= 0 || height <= 0) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "video writer: bad path, codec, fps or size");
    }
    *out = nullptr;
    const cvm_table *media = cvb::media(error);
    if (media == nullptr) return CVB_ERR_MISSING_LIBRARY;
    return media->writer_open(path, fourcc, fps, width, height, out, error);
}

extern "C" cvb_status cvb_video_writer_write(cvb_video_writer *writer, const cvb_view *frame, cvb_error *error) {
    cv::Mat m;
    if (writer == nullptr || !cvb::matFromView(frame, m)) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "video writer: bad writer or frame");
    }
    return loadedMedia().writer_write(writer, frame, error);
}

extern "C" void cvb_video_writer_close(cvb_video_writer *writer) {
    if (writer == nullptr) return;
    loadedMedia().writer_close(writer);
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
    const cvm_table *media = cvb::media(error);
    if (media == nullptr) return CVB_ERR_MISSING_LIBRARY;
    return media->video_check_frame_count(path, frame_count, readable, error);
}
