// The plugin's functions, one group per file, gathered into the table by MediaTable.cpp. They are
// hidden (-fvisibility=hidden): only the table's entry point is exported, so nothing here can
// interpose on, or be interposed by, the host's symbols.
#pragma once

#include "Internal.hpp"
#include "MediaPlugin.h"

namespace cvm {

// ImageCodecs.cpp
cvb_status decode(const uint8_t *data, size_t size, const char *formatName, cvb_image **out, cvb_error *error);
cvb_status encode(const cvb_view *image, cvb_image_format format, int32_t quality, cvb_buffer **out,
                  cvb_error *error);

// VideoCapture.cpp
cvb_status videoOpenFile(const char *path, cvb_video **out, cvb_error *error);
cvb_status videoOpenCamera(const char *path, int32_t index, int32_t width, int32_t height, double fps,
                           cvb_video **out, cvb_error *error);
void videoInfo(const cvb_video *video, int32_t *width, int32_t *height, double *fps, int64_t *frameCount);
cvb_status videoRead(cvb_video *video, cvb_image **out, double *timestampMs, cvb_error *error);
cvb_status videoSkip(cvb_video *video, cvb_error *error);
void videoClose(cvb_video *video);
cvb_status videoCheckFrameCount(const char *path, int64_t frameCount, int32_t *readable, cvb_error *error);

// VideoWriter.cpp
cvb_status writerOpen(const char *path, const char *fourcc, double fps, int32_t width, int32_t height,
                      cvb_video_writer **out, cvb_error *error);
cvb_status writerWrite(cvb_video_writer *writer, const cvb_view *frame, cvb_error *error);
void writerClose(cvb_video_writer *writer);

/// OpenCV's video backends log every failed probe (GStreamer after FFmpeg) as warnings on stderr;
/// the caller gets the failure as an error value with a message, so only OpenCV's errors are shown.
void quietVideoLogs();

}  // namespace cvm
