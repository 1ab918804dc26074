// Image decoding: limits first, then libjpeg for JPEG (JPEGDecoder.cpp), libpng for PNG
// (PNGDecoder.cpp) and, for BMP, WebP and TIFF, OpenCV's decoders in the media plugin
// (MediaPlugin.h), loaded only when one is needed.
#include "Internal.hpp"
#include "MediaLibrary.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sys/stat.h>

namespace {

constexpr uint64_t kDefaultMaxFileBytes = 64ull << 20;
constexpr uint64_t kDefaultMaxPixels = 40'000'000ull;

struct Limits {
    uint64_t maxFileBytes;
    uint64_t maxPixels;
};

Limits resolve(const cvb_decode_limits *limits) {
    Limits resolved{kDefaultMaxFileBytes, kDefaultMaxPixels};
    if (limits != nullptr) {
        if (limits->max_file_bytes != 0) resolved.maxFileBytes = limits->max_file_bytes;
        if (limits->max_pixels != 0) resolved.maxPixels = limits->max_pixels;
    }
    return resolved;
}

cvb_status decodeChecked(const uint8_t *data, size_t size, const Limits &limits, cvb_image **out,
                         cvb_error *error) {
    if (size > limits.maxFileBytes) {
        return cvb::fail(error, CVB_ERR_FILE_TOO_LARGE, "%zu bytes, over the limit of %llu bytes", size,
                         static_cast<unsigned long long>(limits.maxFileBytes));
    }
    cvb::HeaderInfo info;
    cvb_status status = cvb::probeHeader(data, size, info, error);
    if (status != CVB_OK) return status;
    const uint64_t pixels = uint64_t(info.width) * uint64_t(info.height);
    if (pixels > limits.maxPixels) {
        return cvb::fail(error, CVB_ERR_TOO_MANY_PIXELS,
                         "%s header declares %lld×%lld = %.1f megapixels, over the limit of %.1f megapixels",
                         cvb::formatName(info.format), static_cast<long long>(info.width),
                         static_cast<long long>(info.height), double(pixels) / 1e6, double(limits.maxPixels) / 1e6);
    }
    status = cvb::checkComplete(data, size, info, error);
    if (status != CVB_OK) return status;

    if (info.format == CVB_FORMAT_JPEG) {
        return cvb::guarded(error, "decode", [&]() -> cvb_status {
            auto image = std::make_unique<cvb_image>();
            status = cvb::decodeJPEG(data, size, cvb::jpegScanLimit(info), image->pixels, error);
            if (status == CVB_OK) *out = image.release();
            return status;
        });
    }
    if (info.format == CVB_FORMAT_PNG) {
        return cvb::guarded(error, "decode", [&]() -> cvb_status {
            auto image = std::make_unique<cvb_image>();
            status = cvb::decodePNG(data, size, image->pixels, error);
            if (status == CVB_OK) *out = image.release();
            return status;
        });
    }
    const cvm_table *media = cvb::media(error);
    if (media == nullptr) return CVB_ERR_MISSING_LIBRARY;
    return media->decode(data, size, cvb::formatName(info.format), out, error);
}

}  // namespace

extern "C" cvb_status cvb_decode_memory(const uint8_t *data, size_t size, const cvb_decode_limits *limits,
                                        cvb_image **out, cvb_error *error) {
    if (out == nullptr || (data == nullptr && size > 0)) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "decode: no data or no output");
    }
    *out = nullptr;
    return decodeChecked(data, size, resolve(limits), out, error);
}

extern "C" cvb_status cvb_decode_file(const char *path, const cvb_decode_limits *limits, cvb_image **out,
                                      cvb_error *error) {
    if (path == nullptr || out == nullptr) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "decode: no path or no output");
    }
    *out = nullptr;
    const Limits resolved = resolve(limits);
    struct stat info {};
    if (::stat(path, &info) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return cvb::fail(error, CVB_ERR_NOT_FOUND, "no such file");
        return cvb::fail(error, CVB_ERR_UNREADABLE, "cannot read it: %s", std::strerror(errno));
    }
    if (S_ISDIR(info.st_mode)) return cvb::fail(error, CVB_ERR_UNREADABLE, "is a folder, not an image file");
    if (!S_ISREG(info.st_mode)) return cvb::fail(error, CVB_ERR_UNREADABLE, "is not a regular file");
    if (info.st_size == 0) return cvb::fail(error, CVB_ERR_EMPTY, "the file is empty (0 bytes)");
    if (uint64_t(info.st_size) > resolved.maxFileBytes) {
        return cvb::fail(error, CVB_ERR_FILE_TOO_LARGE, "%lld bytes, over the limit of %llu bytes",
                         static_cast<long long>(info.st_size),
                         static_cast<unsigned long long>(resolved.maxFileBytes));
    }
    return cvb::guarded(error, "decode", [&]() -> cvb_status {
        std::ifstream file(path, std::ios::binary);
        if (!file) return cvb::fail(error, CVB_ERR_UNREADABLE, "cannot open it: %s", std::strerror(errno));
        std::vector<uint8_t> bytes(static_cast<size_t>(info.st_size));
        file.read(reinterpret_cast<char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        const size_t got = static_cast<size_t>(file.gcount());
        return decodeChecked(bytes.data(), got, resolved, out, error);
    });
}

extern "C" cvb_view cvb_image_view(const cvb_image *image) {
    cvb_view view{};
    if (image == nullptr) return view;
    view.data = image->pixels.data;
    view.width = image->pixels.cols;
    view.height = image->pixels.rows;
    view.channels = image->pixels.channels();
    view.stride = image->pixels.step[0];
    return view;
}

extern "C" void cvb_image_free(cvb_image *image) { delete image; }
