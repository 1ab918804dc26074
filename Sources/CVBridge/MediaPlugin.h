/*
 * The contract between CVBridge and libCVMedia.so, the plugin that holds OpenCV's image codecs
 * and video I/O (Sources/CVMedia). Internal: never included by CVBridge.h.
 *
 * Why a plugin: opencv_imgcodecs and opencv_videoio need ~240 shared libraries (GDAL, poppler,
 * GStreamer, FFmpeg, Xerces, PROJ, ...), and a process that links them maps all of them before
 * main, about 60 MB of resident memory on the wearable. Linux has no lazy DT_NEEDED, so CVBridge
 * links only opencv_core, opencv_imgproc, libjpeg and libpng, and dlopens the plugin the first
 * time a video file, a camera, a BMP, WebP or TIFF image or an encoding is asked for
 * (MediaLibrary.cpp). A run that reads only JPEGs and PNGs (the model's known-answer frames are
 * PNGs) never maps it.
 *
 * The plugin exports one C symbol, CVM_ENTRY_POINT, returning a table that lives as long as the
 * process. Its functions take CVBridge's own handle types: both sides compile cvb_image and
 * cvb_buffer from Internal.hpp against the same libopencv_core and libstdc++, so either side may
 * free what the other made; cvb_video and cvb_video_writer are the plugin's alone. The functions
 * receive arguments CVBridge has already checked (non-NULL outputs, existing regular files,
 * well-formed views) and keep CVBridge.h's rules: no exception escapes, every failure has a message.
 * CVM_ABI_VERSION changes whenever this table or those types change; a plugin built for another
 * version is refused with a message, never called.
 */
#ifndef CVBRIDGE_MEDIA_PLUGIN_H
#define CVBRIDGE_MEDIA_PLUGIN_H

#include "CVBridge.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CVM_ABI_VERSION 1u
#define CVM_ENTRY_POINT "cvm_media_table"
#define CVM_LIBRARY_NAME "libCVMedia.so"

typedef struct cvm_table {
    uint32_t abi_version; /* CVM_ABI_VERSION of the plugin's build */

    /* BMP, WebP and TIFF (CVBridge decodes JPEG and PNG itself, through libjpeg and libpng), after
     * CVBridge's limits and completeness checks; RGB8. format_name is for messages ("TIFF"). */
    cvb_status (*decode)(const uint8_t *data, size_t size, const char *format_name, cvb_image **out,
                         cvb_error *error);
    cvb_status (*encode)(const cvb_view *image, cvb_image_format format, int32_t quality, cvb_buffer **out,
                         cvb_error *error);

    cvb_status (*video_open_file)(const char *path, cvb_video **out, cvb_error *error);
    cvb_status (*video_open_camera)(const char *path, int32_t index, int32_t width, int32_t height, double fps,
                                    cvb_video **out, cvb_error *error);
    void (*video_info)(const cvb_video *video, int32_t *width, int32_t *height, double *fps,
                       int64_t *frame_count);
    cvb_status (*video_read)(cvb_video *video, cvb_image **out, double *timestamp_ms, cvb_error *error);
    cvb_status (*video_skip)(cvb_video *video, cvb_error *error);
    void (*video_close)(cvb_video *video);
    cvb_status (*video_check_frame_count)(const char *path, int64_t frame_count, int32_t *readable,
                                          cvb_error *error);

    cvb_status (*writer_open)(const char *path, const char *fourcc, double fps, int32_t width, int32_t height,
                              cvb_video_writer **out, cvb_error *error);
    cvb_status (*writer_write)(cvb_video_writer *writer, const cvb_view *frame, cvb_error *error);
    void (*writer_close)(cvb_video_writer *writer);
} cvm_table;

/** The type of CVM_ENTRY_POINT. */
typedef const cvm_table *(*cvm_entry_point)(void);

#ifdef __cplusplus
}
#endif

#endif /* CVBRIDGE_MEDIA_PLUGIN_H */
