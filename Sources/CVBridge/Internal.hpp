// Shared by the bridge's translation units; never included by the C header.
#pragma once

#include "CVBridge.h"
#include "Status.hpp"

#include <opencv2/core.hpp>

#include <cstdarg>
#include <cstdio>
#include <new>
#include <string>
#include <vector>

struct cvb_image {
    cv::Mat pixels;  // RGB8 or GRAY8, continuous
};

namespace cvb {
/// One entry of an INTER_AREA table (OpenCV's DecimateAlpha): output index, source index, weight.
struct AreaTab {
    int si;
    int di;
    float alpha;
};
}  // namespace cvb

struct cvb_buffer {
    std::vector<uchar> bytes;
};

namespace cvb {

/// Wraps a borrowed view as a cv::Mat header (no copy). Returns false when the view is malformed.
inline bool matFromView(const cvb_view *view, cv::Mat &out) {
    if (view == nullptr || view->data == nullptr || view->width <= 0 || view->height <= 0) return false;
    if (view->channels != 1 && view->channels != 3) return false;
    if (view->stride < static_cast<size_t>(view->width) * static_cast<size_t>(view->channels)) return false;
    out = cv::Mat(view->height, view->width, CV_8UC(view->channels), view->data, view->stride);
    return true;
}

inline cv::Scalar scalarFromColor(const uint8_t color[3]) {
    return cv::Scalar(color[0], color[1], color[2]);
}

/// Header facts read without decoding.
struct HeaderInfo {
    cvb_image_format format = CVB_FORMAT_UNKNOWN;
    int64_t width = 0;
    int64_t height = 0;
};

/// Reads format and declared size from the first bytes; fills error on failure.
cvb_status probeHeader(const uint8_t *data, size_t size, HeaderInfo &info, cvb_error *error);

/// Checks that the whole encoded stream is present (JPEG EOI, PNG IEND, BMP pixel array, RIFF size).
cvb_status checkComplete(const uint8_t *data, size_t size, const HeaderInfo &info, cvb_error *error);

const char *formatName(cvb_image_format format);

/// The most scans (SOS segments) a JPEG of this size may have: the decode work they cost is bounded.
int jpegScanLimit(const HeaderInfo &info);

/// Decodes a JPEG to RGB8 through libjpeg, as OpenCV's IMREAD_COLOR would (EXIF orientation
/// included), but refusing it (CVB_ERR_CORRUPT_DATA, libjpeg's words) at libjpeg's first
/// corrupt-data warning, and refusing more than maxScans scans.
cvb_status decodeJPEG(const uint8_t *data, size_t size, int maxScans, cv::Mat &rgb, cvb_error *error);

/// Decodes a PNG to RGB8 through libpng, to the pixels OpenCV 4.6's IMREAD_COLOR gives (EXIF
/// orientation included); libpng's errors refuse it (CVB_ERR_CORRUPT, libpng's words).
cvb_status decodePNG(const uint8_t *data, size_t size, cv::Mat &rgb, cvb_error *error);

/// The orientation (1–8, 0 when absent or unreadable) that OpenCV 4.6 reads from a JPEG's first
/// APP1 segment (`app1` is the segment's data, after its length field).
int exifOrientation(const uint8_t *app1, size_t length);

/// The same from EXIF's TIFF structure itself (a PNG's eXIf chunk, which has no "Exif\0\0").
int tiffOrientation(const uint8_t *tiff, size_t length);

/// Turns an image as OpenCV does for an EXIF orientation (flips and a transpose).
void applyExifOrientation(int orientation, cv::Mat &image);

}  // namespace cvb
