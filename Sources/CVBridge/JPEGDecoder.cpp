// JPEG decoding through libjpeg(-turbo) itself, so that its corrupt-data warnings refuse the file.
//
// OpenCV's decoder lets libjpeg print "Corrupt JPEG data: …" or "Premature end of JPEG file" to
// stderr and returns the damaged picture (grey blocks, smeared rows) as if it were whole; a
// street assistant must not describe a scene from that. Here every libjpeg warning stops the
// decode and comes back as CVB_ERR_CORRUPT_DATA with libjpeg's own words. Everything else is what
// OpenCV 4.6's JPEG decoder does with IMREAD_COLOR, so the pixels are the same bytes: the same
// system libjpeg-turbo, default DCT and upsampling, colour (and grey, replicated by libjpeg)
// converted by libjpeg, CMYK and YCCK converted with OpenCV's formula, then EXIF orientation.
#include "Internal.hpp"

#include <cstdio>
#include <csetjmp>
#include <cstring>

#include <jerror.h>
#include <jpeglib.h>

namespace cvb {
namespace {

/// Why libjpeg stopped, recorded before the long jump back to the decoder.
enum class Stop { none, fatal, warning, tooManyScans };

struct ErrorManager {
    jpeg_error_mgr pub;  // first, so libjpeg's pointer to it is a pointer to this
    std::jmp_buf resume;
    Stop stop = Stop::none;
    int code = 0;
    char text[JMSG_LENGTH_MAX] = {};
};

struct ScanLimit {
    jpeg_progress_mgr pub;  // first, as above
    int maxScans;
};

[[noreturn]] void stopDecoding(j_common_ptr cinfo, Stop stop) {
    auto *manager = reinterpret_cast<ErrorManager *>(cinfo->err);
    manager->stop = stop;
    manager->code = cinfo->err->msg_code;
    (*cinfo->err->format_message)(cinfo, manager->text);
    std::longjmp(manager->resume, 1);
}

/// A fatal error (libjpeg's ERREXIT): the file cannot be decoded at all.
[[noreturn]] void onFatal(j_common_ptr cinfo) { stopDecoding(cinfo, Stop::fatal); }

/// Level -1 is a warning, and every libjpeg warning but one means the data is damaged. The
/// exception is an unknown JFIF version number: a header field no decoder uses.
void onMessage(j_common_ptr cinfo, int level) {
    if (level != -1) return;  // trace messages
    if (cinfo->err->msg_code == JWRN_JFIF_MAJOR) return;
    stopDecoding(cinfo, Stop::warning);
}

/// The walk in ImageHeader.cpp caps the scans before libjpeg starts; this is the same cap where
/// libjpeg counts them, so that a file the walk reads differently is still bounded.
void onProgress(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    auto *decompress = reinterpret_cast<j_decompress_ptr>(cinfo);
    auto *limit = reinterpret_cast<ScanLimit *>(cinfo->progress);
    if (decompress->input_scan_number > limit->maxScans) stopDecoding(cinfo, Stop::tooManyScans);
}

/// OpenCV's CMYK→BGR formula (icvCvt_CMYK2BGR_8u_C4C3R, libjpeg's inverted Adobe CMYK), written
/// in RGB order.
void cmykRowToRGB(const uint8_t *cmyk, uint8_t *rgb, int width) {
    for (int x = 0; x < width; ++x, cmyk += 4, rgb += 3) {
        const int k = cmyk[3];
        rgb[0] = uint8_t(k - (((255 - cmyk[0]) * k) >> 8));
        rgb[1] = uint8_t(k - (((255 - cmyk[1]) * k) >> 8));
        rgb[2] = uint8_t(k - (((255 - cmyk[2]) * k) >> 8));
    }
}

/// libjpeg's state; destroyed however the decode ends, a long jump or a C++ exception.
struct Session {
    jpeg_decompress_struct cinfo{};
    ErrorManager errors;
    ScanLimit scans{};
    /// Safe on a zeroed struct too (libjpeg frees only what it allocated).
    ~Session() { jpeg_destroy_decompress(&cinfo); }
};

/// The part that libjpeg may jump out of. Only `session` and `pixels`, both in the caller's
/// frame, change after setjmp, so nothing here is left in an indeterminate state by the jump.
bool runLibjpeg(Session &session, const uint8_t *data, size_t size, cv::Mat &pixels, int &orientation) {
    if (setjmp(session.errors.resume) != 0) return false;
    jpeg_create_decompress(&session.cinfo);
    jpeg_mem_src(&session.cinfo, data, static_cast<unsigned long>(size));
    session.cinfo.progress = &session.scans.pub;
    jpeg_save_markers(&session.cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&session.cinfo, TRUE);

    // OpenCV asks for CMYK whenever there are four components, and for colour otherwise.
    const bool fourComponents = session.cinfo.num_components == 4;
    session.cinfo.out_color_space = fourComponents ? JCS_CMYK : JCS_RGB;
    for (jpeg_saved_marker_ptr marker = session.cinfo.marker_list; marker != nullptr; marker = marker->next) {
        if (marker->marker == JPEG_APP0 + 1) {
            orientation = exifOrientation(marker->data, marker->data_length);
            break;
        }
    }
    jpeg_start_decompress(&session.cinfo);
    const int width = static_cast<int>(session.cinfo.output_width);
    const int height = static_cast<int>(session.cinfo.output_height);
    pixels.create(height, width, CV_8UC3);
    JSAMPARRAY cmykRow = fourComponents ? (*session.cinfo.mem->alloc_sarray)(
                                              reinterpret_cast<j_common_ptr>(&session.cinfo), JPOOL_IMAGE,
                                              static_cast<JDIMENSION>(width) * 4, 1)
                                        : nullptr;
    for (int y = 0; y < height; ++y) {
        JSAMPROW row = pixels.ptr<uint8_t>(y);
        if (jpeg_read_scanlines(&session.cinfo, fourComponents ? cmykRow : &row, 1) != 1) return false;
        if (fourComponents) cmykRowToRGB(cmykRow[0], row, width);
    }
    // Reads to the end-of-image marker, where trailing damage ("extraneous bytes") shows.
    jpeg_finish_decompress(&session.cinfo);
    return true;
}

}  // namespace

cvb_status decodeJPEG(const uint8_t *data, size_t size, int maxScans, cv::Mat &rgb, cvb_error *error) {
    Session session;
    session.cinfo.err = jpeg_std_error(&session.errors.pub);
    session.errors.pub.error_exit = onFatal;
    session.errors.pub.emit_message = onMessage;
    session.scans.pub.progress_monitor = onProgress;
    session.scans.maxScans = maxScans;
    cv::Mat pixels;
    int orientation = 0;
    if (!runLibjpeg(session, data, size, pixels, orientation)) {
        switch (session.errors.stop) {
            case Stop::warning:
                return fail(error, CVB_ERR_CORRUPT_DATA, "%s", session.errors.text);
            case Stop::tooManyScans:
                return fail(error, CVB_ERR_CORRUPT,
                            "JPEG: more than %d scans; decoding would take minutes (encoders write at most a "
                            "dozen), so the file is refused", maxScans);
            case Stop::fatal:
                if (session.errors.code == JERR_OUT_OF_MEMORY) return fail(error, CVB_ERR_OUT_OF_MEMORY, "JPEG: %s", session.errors.text);
                return fail(error, CVB_ERR_CORRUPT, "JPEG: libjpeg cannot decode it: %s", session.errors.text);
            case Stop::none:
                return fail(error, CVB_ERR_CORRUPT, "JPEG: libjpeg returned fewer rows than the header declares");
        }
    }
    applyExifOrientation(orientation, pixels);
    rgb = pixels;
    return ok(error);
}

}  // namespace cvb
