/*
 * CVBridge — the project's only C++: a small C API over OpenCV 4.6.
 *
 * Rules every function keeps:
 *  - No C++ exception crosses this header. Every failure comes back as a
 *    cvb_status with a human-readable message written into the caller's
 *    cvb_error (which may be NULL when the caller does not want the text).
 *  - Handles (cvb_image, cvb_buffer, cvb_video, cvb_video_writer) are opaque
 *    and owned by the caller once returned; free them with their _free/_close
 *    function. Freeing NULL is allowed.
 *  - Pixel data crossing the boundary is 8-bit, channel-interleaved, RGB order
 *    for 3 channels. OpenCV's BGR never leaks out.
 *  - Images are checked before decoding: file size, format magic, and the
 *    pixel count the header declares (decompression bombs), so no decoder is
 *    ever asked to allocate for a hostile header.
 *  - JPEGs are decoded through libjpeg directly, to the same pixels as
 *    OpenCV's IMREAD_COLOR (EXIF orientation included), and refused
 *    (CVB_ERR_CORRUPT_DATA) at libjpeg's first corrupt-data warning, which
 *    OpenCV only prints while returning the damaged picture.
 *  - PNGs are decoded through libpng directly, to the same pixels as OpenCV.
 *  - BMP, WebP and TIFF decoding, image encoding, video files and cameras
 *    go through OpenCV's imgcodecs and videoio, which live in a plugin,
 *    libCVMedia.so, loaded the first time one of them is asked for: next to
 *    the executable, else by name on the library search path, or from the
 *    file the LTTW_MEDIA_LIBRARY environment variable names. Without it those
 *    calls fail with CVB_ERR_MISSING_LIBRARY; JPEG and PNG decoding,
 *    resizing, preprocessing, lamps and drawing never need it.
 */
#ifndef CVBRIDGE_H
#define CVBRIDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cvb_status {
    CVB_OK = 0,
    CVB_ERR_INVALID_ARGUMENT = 1,  /* a NULL pointer, a zero size, a bad rectangle */
    CVB_ERR_NOT_FOUND = 2,         /* the file or device does not exist */
    CVB_ERR_UNREADABLE = 3,        /* it exists but cannot be read (permissions, a folder, I/O) */
    CVB_ERR_EMPTY = 4,             /* zero bytes */
    CVB_ERR_FILE_TOO_LARGE = 5,    /* over the caller's byte limit */
    CVB_ERR_TOO_MANY_PIXELS = 6,   /* the header declares more pixels than the caller's limit */
    CVB_ERR_UNSUPPORTED = 7,       /* not JPEG, PNG, BMP, WebP or TIFF */
    CVB_ERR_CORRUPT = 8,           /* the header or the data is damaged */
    CVB_ERR_TRUNCATED = 9,         /* the data ends before the image does */
    CVB_ERR_ENCODE = 10,           /* encoding or writing an image or video failed */
    CVB_ERR_OPEN_VIDEO = 11,       /* a video file or camera could not be opened */
    CVB_ERR_END_OF_STREAM = 12,    /* a video file has no more frames */
    CVB_ERR_DEVICE_LOST = 13,      /* a camera stopped delivering frames or vanished */
    CVB_ERR_OUT_OF_MEMORY = 14,
    CVB_ERR_INTERNAL = 15,         /* an OpenCV error we did not foresee; the message has OpenCV's text */
    CVB_ERR_CORRUPT_DATA = 16,     /* the decoder found the compressed data damaged (a libjpeg warning);
                                      the message is the decoder's own text */
    CVB_ERR_MISSING_LIBRARY = 17   /* libCVMedia.so (OpenCV's codecs and video I/O, loaded on first
                                      use) cannot be loaded; the message says where it was looked
                                      for and why each place failed */
} cvb_status;

/** Where a failure's text goes. The bridge writes at most sizeof(message) bytes, NUL-terminated. */
typedef struct cvb_error {
    cvb_status status;
    char message[512];
} cvb_error;

/** Checked before any decoder runs. Zero means "use the default". */
typedef struct cvb_decode_limits {
    uint64_t max_file_bytes;   /* default 64 MiB */
    uint64_t max_pixels;       /* default 40 megapixels */
} cvb_decode_limits;

typedef enum cvb_image_format {
    CVB_FORMAT_UNKNOWN = 0,
    CVB_FORMAT_JPEG = 1,
    CVB_FORMAT_PNG = 2,
    CVB_FORMAT_BMP = 3,
    CVB_FORMAT_WEBP = 4,
    CVB_FORMAT_TIFF = 5
} cvb_image_format;

typedef enum cvb_interpolation {
    CVB_INTERP_AREA = 0,       /* cv::INTER_AREA: the preprocessing default, best for shrinking */
    CVB_INTERP_BILINEAR = 1,   /* cv::INTER_LINEAR */
    CVB_INTERP_NEAREST = 2     /* cv::INTER_NEAREST */
} cvb_interpolation;

/** A borrowed view of pixels owned by someone else. */
typedef struct cvb_view {
    uint8_t *data;
    int32_t width;
    int32_t height;
    int32_t channels;   /* 1 (gray) or 3 (RGB) */
    size_t stride;      /* bytes per row, >= width * channels */
} cvb_view;

typedef struct cvb_image cvb_image;     /* decoded pixels owned by the bridge */
typedef struct cvb_buffer cvb_buffer;   /* encoded bytes owned by the bridge */
typedef struct cvb_video cvb_video;     /* a video file or camera being read */
typedef struct cvb_video_writer cvb_video_writer;

/* ---- Decoding ---------------------------------------------------------- */

/** Reads only the header: format and declared size. Never decodes pixels. */
cvb_status cvb_probe_memory(const uint8_t *data, size_t size, cvb_image_format *format,
                            int32_t *width, int32_t *height, cvb_error *error);

/** Decodes a file to RGB8, after checking the limits. */
cvb_status cvb_decode_file(const char *path, const cvb_decode_limits *limits,
                           cvb_image **out, cvb_error *error);

/** Decodes bytes in memory to RGB8, after checking the limits. */
cvb_status cvb_decode_memory(const uint8_t *data, size_t size, const cvb_decode_limits *limits,
                             cvb_image **out, cvb_error *error);

/** The pixels of a bridge-owned image; valid until cvb_image_free. */
cvb_view cvb_image_view(const cvb_image *image);
void cvb_image_free(cvb_image *image);

/* ---- Geometry and colour ------------------------------------------------ */

/** Resizes src into dst; dst's size says the target size, channels must match. */
cvb_status cvb_resize(const cvb_view *src, const cvb_view *dst, cvb_interpolation interpolation,
                      cvb_error *error);

/**
 * Fits src inside dst keeping its aspect ratio, centred, the rest filled with
 * pad (one value per channel). Reports the scale and the top-left offset of
 * the placed image so that coordinates can be mapped back.
 */
cvb_status cvb_letterbox(const cvb_view *src, const cvb_view *dst, cvb_interpolation interpolation,
                         const uint8_t pad[3], double *scale, int32_t *offset_x, int32_t *offset_y,
                         cvb_error *error);

/** RGB→gray (dst 1 channel) or gray→RGB (dst 3 channels), OpenCV's weights. */
cvb_status cvb_convert_color(const cvb_view *src, const cvb_view *dst, cvb_error *error);

/**
 * Working memory for cvb_preprocess, owned by the caller (one per stream, not
 * shared between threads): the resized pixels and the resize's tables, sized
 * at creation for model inputs up to input_size and source images up to
 * max_side pixels on each side (about 24 bytes per pixel of width + height).
 * A larger image grows it once; after that, preprocessing allocates nothing.
 * NULL when out of memory.
 */
typedef struct cvb_scratch cvb_scratch;
cvb_scratch *cvb_scratch_create(int32_t input_size, int32_t max_side);
void cvb_scratch_free(cvb_scratch *scratch);

/**
 * The model's input: resize src to size×size (squash, no letterbox), then per
 * channel x = (u8 / 255 - mean[c]) / std[c] in float32, written planar (CHW)
 * into out, which holds channels*size*size floats. This is exactly what the
 * training code does with cv2.resize and numpy float32 arithmetic.
 *
 * With a scratch, a shrinking CVB_INTERP_AREA resize (the model's) runs the
 * bridge's own copy of OpenCV 4.6's INTER_AREA arithmetic — same tables, same
 * float32 operations in the same order, byte-identical output — in the
 * scratch's memory, because cv::resize allocates its tables and row buffers on
 * every call. Everything else, and every call without a scratch (scratch
 * NULL), goes through cv::resize.
 */
cvb_status cvb_preprocess(const cvb_view *src, int32_t size, cvb_interpolation interpolation,
                          const float *mean, const float *std, float *out, size_t out_count,
                          cvb_scratch *scratch, cvb_error *error);

/**
 * cvb_preprocess for the output rows [row_begin, row_end) only (every channel),
 * so that several threads, each with its own scratch, can share one image.
 * Only when cvb_preprocess_splits says so; otherwise rows must be 0..size.
 */
cvb_status cvb_preprocess_rows(const cvb_view *src, int32_t size, cvb_interpolation interpolation,
                               const float *mean, const float *std, float *out, size_t out_count,
                               int32_t row_begin, int32_t row_end, cvb_scratch *scratch,
                               cvb_error *error);

/** 1 when cvb_preprocess_rows (with a scratch) can split this resize by rows, else 0. */
int cvb_preprocess_splits(const cvb_view *src, int32_t size, cvb_interpolation interpolation);

/* ---- Lamp candidates for the signal expert -------------------------------- */

/*
 * training/lttw/lamps.py, integer for integer (its module docstring is the
 * contract): lit-lamp candidates found on the full frame, and the fixed-size
 * crops the signal expert reads around them. Same boxes, same order, same crop
 * floats as the Python.
 */

/** At most 12 blobs, 4 figures grown from the green ones, 1 lamp figure (the green mass) and the
 * whole frame. */
#define CVB_LAMP_MAX_CANDIDATES 18

/* The proposal contract's constants (lamps.py's module constants), for a model's config to be
 * checked against: a model trained with other constants reads crops it never saw. */
typedef struct cvb_lamp_contract {
    int32_t long_side, min_brightness, min_saturation_pct, min_lit, min_fill_pct, max_blobs, figure_from,
        figure_growth, whole_frame_max_side, whole_frame_filling, crop_size, crop_context, crop_min_side,
        cluster_cell_pct, cluster_min_pct, cluster_max_pct, cluster_max, cluster_side_sixteenths, colourless_chroma,
        noise_tile, noise_chroma;
} cvb_lamp_contract;
cvb_lamp_contract cvb_lamp_contract_constants(void);

typedef struct cvb_lamp_candidate {
    int32_t x0, y0, x1, y1;  /* frame pixels, x1 and y1 exclusive */
    int32_t colour;          /* 1 red, 2 amber, 3 green; 0 for the whole frame */
    int32_t scale;           /* 1 or 2 (a blob on the proposal image, or on it halved), 3 (a figure:
                                a green blob's, or the green mass's); 0 for the whole frame */
    int32_t score;           /* mean chroma × 256 over the lit pixels; -1 for the whole frame */
    int32_t whole;           /* 1 for the whole-frame candidate, else 0 */
} cvb_lamp_candidate;

/**
 * Working memory for cvb_lamp_propose, owned by the caller (one per stream,
 * not shared between threads): the downscaled images, colour classes, masks,
 * labels, component statistics and blobs, sized at creation for frames up to
 * max_width×max_height. A larger frame grows it once; after that, proposing
 * allocates nothing. NULL when out of memory.
 */
typedef struct cvb_lamp_scratch cvb_lamp_scratch;
cvb_lamp_scratch *cvb_lamp_scratch_create(int32_t max_width, int32_t max_height);
void cvb_lamp_scratch_free(cvb_lamp_scratch *scratch);

/**
 * lamps.colour_classes of count RGB pixels: each one's class (0 none, 1 red,
 * 2 amber, 3 green) and chroma (max - min), as the proposer computes them.
 */
void cvb_lamp_colour_classes(const uint8_t *rgb, size_t count, uint8_t *classes, uint8_t *chroma);

/**
 * lamps.propose: the kept blobs by rank, the figures grown from the first
 * of them, the lamp figure framing the green mass, then the whole frame when it qualifies. out holds capacity >= CVB_LAMP_MAX_CANDIDATES entries; *count
 * says how many were written. A gray frame (1 channel) has no lit colour, as
 * an RGB frame with r = g = b has none: only the whole frame can come back.
 * colour, when not NULL, receives how much colour the frame shows.
 */
typedef struct cvb_frame_colour {
    /* lamps.frame_chroma: the largest chroma (max - min) of the proposal image; a frame at or
       under the contract's colourless_chroma shows no colour, so no lamp of it can be found. */
    int32_t chroma;
    /* lamps.tile_chroma: the largest chroma of its noise_tile-pixel tile means; a frame at or
       under noise_chroma shows colour only as sensor noise (a grey or infrared camera). */
    int32_t tile_chroma;
} cvb_frame_colour;
cvb_status cvb_lamp_propose(const cvb_view *frame, cvb_lamp_scratch *scratch, cvb_lamp_candidate *out,
                            size_t capacity, size_t *count, cvb_frame_colour *colour, cvb_error *error);

/**
 * lamps.crop_rect: the square of side max(4·max(w,h), 16) centred on the box
 * (Python's floor division), or the whole frame for the whole-frame candidate.
 * It may extend past the frame.
 */
cvb_status cvb_lamp_crop_rect(const cvb_lamp_candidate *candidate, int32_t frame_width, int32_t frame_height,
                              int32_t *x, int32_t *y, int32_t *width, int32_t *height, cvb_error *error);

/**
 * lamps.sample_rect then lamps.normalise_crop: the rectangle (which may extend
 * past the frame; black there) box-averaged to size×size with integer sums,
 * then per channel ((float)sum / (float)count / 255 - mean[c]) / std[c] in
 * float32, planar (CHW) into out (channels*size*size floats). Allocates nothing.
 */
cvb_status cvb_lamp_sample(const cvb_view *frame, int32_t x, int32_t y, int32_t width, int32_t height,
                           int32_t size, const float *mean, const float *std, float *out, size_t out_count,
                           cvb_error *error);

/* ---- Drawing (for debug overlays), in place ------------------------------ */

/** thickness < 0 fills the rectangle. Colours are RGB (gray images use color[0]). */
cvb_status cvb_draw_rectangle(const cvb_view *image, int32_t x, int32_t y, int32_t width,
                              int32_t height, const uint8_t color[3], int32_t thickness,
                              cvb_error *error);
cvb_status cvb_draw_line(const cvb_view *image, int32_t x0, int32_t y0, int32_t x1, int32_t y1,
                         const uint8_t color[3], int32_t thickness, cvb_error *error);
cvb_status cvb_draw_arrow(const cvb_view *image, int32_t x0, int32_t y0, int32_t x1, int32_t y1,
                          const uint8_t color[3], int32_t thickness, cvb_error *error);
/** ASCII text with its baseline-left corner at (x, y); scale 1.0 is about 22 px tall. */
cvb_status cvb_draw_text(const cvb_view *image, const char *text, int32_t x, int32_t y, double scale,
                         const uint8_t color[3], int32_t thickness, cvb_error *error);
/** The width, height and baseline a text would take, for laying out labels. */
cvb_status cvb_measure_text(const char *text, double scale, int32_t thickness, int32_t *width,
                            int32_t *height, int32_t *baseline, cvb_error *error);

/* ---- Encoding ------------------------------------------------------------ */

/** quality: JPEG 0–100 (ignored for PNG). */
cvb_status cvb_encode(const cvb_view *image, cvb_image_format format, int32_t quality,
                      cvb_buffer **out, cvb_error *error);
const uint8_t *cvb_buffer_data(const cvb_buffer *buffer);
size_t cvb_buffer_size(const cvb_buffer *buffer);
void cvb_buffer_free(cvb_buffer *buffer);

/* ---- Video files and cameras --------------------------------------------- */

/** Opens a video file for reading. */
cvb_status cvb_video_open_file(const char *path, cvb_video **out, cvb_error *error);

/**
 * Opens a V4L2 camera by device path ("/dev/video0") or, when path is NULL, by
 * index. width/height/fps of 0 keep the camera's defaults; the camera may
 * choose the nearest mode it supports (read the result with cvb_video_info).
 */
cvb_status cvb_video_open_camera(const char *path, int32_t index, int32_t width, int32_t height,
                                 double fps, cvb_video **out, cvb_error *error);

/** Frame size, nominal fps (0 if unknown) and frame count (-1 for cameras or when unknown). */
void cvb_video_info(const cvb_video *video, int32_t *width, int32_t *height, double *fps,
                    int64_t *frame_count);

/**
 * Reads the next frame as RGB8. timestamp_ms is the frame's presentation time
 * for files and the time since opening for cameras. Ends with
 * CVB_ERR_END_OF_STREAM for files and CVB_ERR_DEVICE_LOST for cameras.
 */
cvb_status cvb_video_read(cvb_video *video, cvb_image **out, double *timestamp_ms, cvb_error *error);

/** Skips a frame without decoding it to RGB (cheap frame dropping). */
cvb_status cvb_video_skip(cvb_video *video, cvb_error *error);
void cvb_video_close(cvb_video *video);

/** fourcc: four characters such as "MJPG" or "FFV1"; frames must be width×height RGB8. */
cvb_status cvb_video_writer_open(const char *path, const char *fourcc, double fps, int32_t width,
                                 int32_t height, cvb_video_writer **out, cvb_error *error);
cvb_status cvb_video_writer_write(cvb_video_writer *writer, const cvb_view *frame, cvb_error *error);
void cvb_video_writer_close(cvb_video_writer *writer);

/**
 * Whether the last frame a video file's container promises (frame `frame_count`, counted from 1)
 * can be read. The count comes from the container's header or index, which a truncated file
 * still carries (a cut AVI says 200 frames and holds 94); this opens its own capture, seeks and
 * reads. Sets *readable to 1 or 0.
 */
cvb_status cvb_video_check_frame_count(const char *path, int64_t frame_count, int32_t *readable,
                                       cvb_error *error);

#ifdef __cplusplus
}
#endif

#endif /* CVBRIDGE_H */
