// PNG decoding through libpng itself, to exactly the pixels OpenCV 4.6's imdecode(IMREAD_COLOR)
// gives.
//
// Why not OpenCV's decoder: it lives in opencv_imgcodecs, whose ~240 shared libraries cost about
// 60 MB of resident memory, and the model's known-answer frames (models/*/selftest) are PNGs that
// every model load reads; with PNG here, a run over JPEGs never loads the media plugin
// (MediaPlugin.h). This is OpenCV's PngDecoder, step for step, on the same system libpng: the same
// transformations in the same order (16 bits stripped to 8, alpha stripped, palettes and 1/2/4-bit
// grey expanded, grey replicated to three channels, interlacing handled by libpng), RGB order
// instead of OpenCV's BGR (a pure permutation), the orientation of an eXIf chunk that precedes
// the image data applied as OpenCV applies it, and libpng's errors refusing the file as they make
// OpenCV return nothing. libpng's warnings (an ancillary chunk's CRC, an odd colour profile) do
// not change the pixels and do not stop OpenCV either; they are not printed.
#include "Internal.hpp"

#include <png.h>

#include <csetjmp>
#include <cstring>

namespace cvb {
namespace {

/// libpng's state and why it stopped; destroyed however the decode ends, a long jump or a C++
/// exception.
struct Session {
    png_structp png = nullptr;
    png_infop info = nullptr;
    png_infop endInfo = nullptr;
    std::jmp_buf resume;
    char text[256] = {};
    const uint8_t *data = nullptr;
    size_t size = 0;
    size_t offset = 0;
    std::vector<png_bytep> rows;  // here, not in runLibpng's frame, which a long jump abandons
    ~Session() { png_destroy_read_struct(&png, &info, &endInfo); }
};

[[noreturn]] void onError(png_structp png, png_const_charp message) {
    auto *session = static_cast<Session *>(png_get_error_ptr(png));
    std::snprintf(session->text, sizeof(session->text), "%s", message != nullptr ? message : "unknown error");
    std::longjmp(session->resume, 1);
}

void onWarning(png_structp, png_const_charp) {}

/// OpenCV's readFromStreamOrBuffer: the bytes in order, an error past the end.
void readBytes(png_structp png, png_bytep into, png_size_t count) {
    auto *session = static_cast<Session *>(png_get_io_ptr(png));
    if (count > session->size - session->offset) png_error(png, "PNG input buffer is incomplete");
    std::memcpy(into, session->data + session->offset, count);
    session->offset += count;
}

/// The part that libpng may jump out of. Only `session`, `pixels` and `orientation`, all in the
/// caller's frame, change after setjmp, and nothing with a destructor lives in this frame, so the
/// jump leaves nothing indeterminate or leaked.
bool runLibpng(Session &session, cv::Mat &pixels, int &orientation) {
    if (setjmp(session.resume) != 0) return false;
    session.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &session, onError, onWarning);
    if (session.png == nullptr) return false;
    session.info = png_create_info_struct(session.png);
    session.endInfo = png_create_info_struct(session.png);
    if (session.info == nullptr || session.endInfo == nullptr) return false;
    png_set_read_fn(session.png, &session, readBytes);
    png_read_info(session.png, session.info);
    png_uint_32 width = 0, height = 0;
    int bitDepth = 0, colourType = 0;
    png_get_IHDR(session.png, session.info, &width, &height, &bitDepth, &colourType, nullptr, nullptr, nullptr);
#ifdef PNG_eXIf_SUPPORTED
    png_uint_32 exifLength = 0;
    png_bytep exif = nullptr;
    if (png_get_valid(session.png, session.info, PNG_INFO_eXIf)) png_get_eXIf_1(session.png, session.info, &exifLength, &exif);
    if (exif != nullptr && exifLength > 0) orientation = tiffOrientation(exif, exifLength);
#endif
    if (bitDepth == 16) png_set_strip_16(session.png);
    else png_set_swap(session.png);  // no effect on 8 bits; OpenCV calls it, so it is called
    png_set_strip_alpha(session.png);
    if (colourType == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(session.png);
    if ((colourType & PNG_COLOR_MASK_COLOR) == 0 && bitDepth < 8) png_set_expand_gray_1_2_4_to_8(session.png);
    if ((colourType & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(session.png);
    png_set_interlace_handling(session.png);
    png_read_update_info(session.png, session.info);
    pixels.create(int(height), int(width), CV_8UC3);
    session.rows.resize(height);
    for (png_uint_32 y = 0; y < height; ++y) session.rows[y] = pixels.ptr<uint8_t>(int(y));
    png_read_image(session.png, session.rows.data());
    png_read_end(session.png, session.endInfo);
    return true;
}

}  // namespace

cvb_status decodePNG(const uint8_t *data, size_t size, cv::Mat &rgb, cvb_error *error) {
    Session session;
    session.data = data;
    session.size = size;
    cv::Mat pixels;
    int orientation = 0;
    if (!runLibpng(session, pixels, orientation)) {
        if (session.png == nullptr || session.info == nullptr || session.endInfo == nullptr) {
            return fail(error, CVB_ERR_OUT_OF_MEMORY, "PNG: libpng could not allocate its state");
        }
        return fail(error, CVB_ERR_CORRUPT, "PNG data is damaged: libpng cannot decode it: %s", session.text);
    }
    applyExifOrientation(orientation, pixels);
    rgb = pixels;
    return ok(error);
}

}  // namespace cvb
