// Header probing and completeness checks, done before any decoder runs.
//
// OpenCV 4.6 offers no way to read only a header, and its own pixel limit is a
// process-wide environment variable. Reading the few bytes that declare an
// image's size lets the bridge refuse decompression bombs with the caller's
// limit; walking the container structure catches truncated files, which
// libjpeg would otherwise decode silently with a grey lower half.
#include "Internal.hpp"

#include <algorithm>
#include <cstring>

namespace cvb {
namespace {

uint16_t be16(const uint8_t *p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t be32(const uint8_t *p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
uint16_t le16(const uint8_t *p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le24(const uint8_t *p) { return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16); }
uint32_t le32(const uint8_t *p) {
    return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

bool isStartOfFrame(uint8_t marker) {
    return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

bool isStandaloneMarker(uint8_t marker) {
    return marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7);
}

cvb_status probeJPEG(const uint8_t *d, size_t n, HeaderInfo &info, cvb_error *error) {
    size_t pos = 2;
    while (pos + 2 <= n) {
        if (d[pos] != 0xFF) {
            return fail(error, CVB_ERR_CORRUPT, "JPEG: expected a marker at byte %zu", pos);
        }
        uint8_t marker = d[pos + 1];
        if (marker == 0xFF) { pos += 1; continue; }
        pos += 2;
        if (isStandaloneMarker(marker)) continue;
        if (marker == 0xD9 || marker == 0xDA) {
            return fail(error, CVB_ERR_CORRUPT, "JPEG: no frame header before the image data");
        }
        if (pos + 2 > n) break;
        uint16_t length = be16(d + pos);
        if (length < 2) return fail(error, CVB_ERR_CORRUPT, "JPEG: segment of length %u at byte %zu", length, pos);
        if (isStartOfFrame(marker)) {
            if (pos + 7 > n) break;
            info.height = be16(d + pos + 3);
            info.width = be16(d + pos + 5);
            return CVB_OK;
        }
        pos += length;
    }
    return fail(error, CVB_ERR_TRUNCATED, "JPEG: the file ends before the frame header");
}

cvb_status probePNG(const uint8_t *d, size_t n, HeaderInfo &info, cvb_error *error) {
    if (n < 24) return fail(error, CVB_ERR_TRUNCATED, "PNG: the file ends inside the header");
    if (std::memcmp(d + 12, "IHDR", 4) != 0) {
        return fail(error, CVB_ERR_CORRUPT, "PNG: the first chunk is not IHDR");
    }
    info.width = be32(d + 16);
    info.height = be32(d + 20);
    return CVB_OK;
}

cvb_status probeBMP(const uint8_t *d, size_t n, HeaderInfo &info, cvb_error *error) {
    if (n < 26) return fail(error, CVB_ERR_TRUNCATED, "BMP: the file ends inside the header");
    uint32_t dibSize = le32(d + 14);
    if (dibSize == 12) {
        info.width = le16(d + 18);
        info.height = le16(d + 20);
    } else {
        int32_t w = static_cast<int32_t>(le32(d + 18));
        int32_t h = static_cast<int32_t>(le32(d + 22));
        info.width = w;
        info.height = h < 0 ? -static_cast<int64_t>(h) : h;
    }
    return CVB_OK;
}

cvb_status probeWebP(const uint8_t *d, size_t n, HeaderInfo &info, cvb_error *error) {
    if (n < 30) return fail(error, CVB_ERR_TRUNCATED, "WebP: the file ends inside the header");
    const uint8_t *chunk = d + 12;
    const uint8_t *payload = d + 20;
    if (std::memcmp(chunk, "VP8X", 4) == 0) {
        info.width = 1 + int64_t(le24(payload + 4));
        info.height = 1 + int64_t(le24(payload + 7));
    } else if (std::memcmp(chunk, "VP8 ", 4) == 0) {
        if (payload[3] != 0x9D || payload[4] != 0x01 || payload[5] != 0x2A) {
            return fail(error, CVB_ERR_CORRUPT, "WebP: bad VP8 frame start code");
        }
        info.width = le16(payload + 6) & 0x3FFF;
        info.height = le16(payload + 8) & 0x3FFF;
    } else if (std::memcmp(chunk, "VP8L", 4) == 0) {
        if (payload[0] != 0x2F) return fail(error, CVB_ERR_CORRUPT, "WebP: bad VP8L signature");
        uint32_t bits = le32(payload + 1);
        info.width = 1 + int64_t(bits & 0x3FFF);
        info.height = 1 + int64_t((bits >> 14) & 0x3FFF);
    } else {
        return fail(error, CVB_ERR_CORRUPT, "WebP: unknown first chunk");
    }
    return CVB_OK;
}

cvb_status probeTIFF(const uint8_t *d, size_t n, HeaderInfo &info, cvb_error *error) {
    const bool little = d[0] == 'I';
    auto u16 = [&](size_t at) { return little ? le16(d + at) : be16(d + at); };
    auto u32 = [&](size_t at) { return little ? le32(d + at) : be32(d + at); };
    if (n < 8) return fail(error, CVB_ERR_TRUNCATED, "TIFF: the file ends inside the header");
    size_t ifd = u32(4);
    if (ifd + 2 > n) return fail(error, CVB_ERR_TRUNCATED, "TIFF: the first directory lies past the end of the file");
    uint16_t count = u16(ifd);
    if (ifd + 2 + size_t(count) * 12 > n) {
        return fail(error, CVB_ERR_TRUNCATED, "TIFF: the file ends inside the first directory");
    }
    for (uint16_t i = 0; i < count; ++i) {
        size_t entry = ifd + 2 + size_t(i) * 12;
        uint16_t tag = u16(entry);
        uint16_t type = u16(entry + 2);
        if (tag != 256 && tag != 257) continue;
        // The pixel limit is checked against these values, so they must be the ones libtiff
        // uses: it keeps the first of two equal tags, this probe would keep the last, and a file
        // could then declare 24 pixels here and decode 60,000 wide. Refuse the ambiguity.
        int64_t &side = tag == 256 ? info.width : info.height;
        if (side != 0) {
            return fail(error, CVB_ERR_CORRUPT, "TIFF: the first directory gives the image %s twice",
                        tag == 256 ? "width" : "length");
        }
        if (type != 3 && type != 4) {
            return fail(error, CVB_ERR_CORRUPT, "TIFF: the image %s has field type %u, not SHORT or LONG",
                        tag == 256 ? "width" : "length", type);
        }
        side = (type == 3) ? int64_t(u16(entry + 8)) : int64_t(u32(entry + 8));
    }
    if (info.width == 0 || info.height == 0) {
        return fail(error, CVB_ERR_CORRUPT, "TIFF: the first directory has no image width or length");
    }
    return CVB_OK;
}

/// At most this many scans (SOS segments) in one JPEG. libjpeg re-reads every coefficient for
/// each progressive scan, so decode time grows linearly with the count: 20,000 scans in a 0.67 MB
/// file took 28 s. Encoders write 1 (baseline) to about 12 (progressive) scans.
constexpr int kMaxJPEGScans = 100;
/// At most this many scans × pixels, so a large progressive image gets fewer scans than a small
/// one (a 40-megapixel image may have 25): the decode work stays bounded, not just the count.
constexpr uint64_t kMaxJPEGScanPixels = 1'000'000'000ull;

/// The frame header's component sampling, needed to count the 8×8 blocks a scan must code.
struct JPEGFrame {
    bool seen = false;
    bool huffman = false;     // SOF0/1/2: Huffman-coded DCT, where every coded block costs ≥ 1 bit
    bool progressive = false;
    int components = 0;
    uint8_t id[4] = {};
    uint8_t h[4] = {};
    uint8_t v[4] = {};
    bool firstDCCoded[4] = {};  // the component's DC appears in a sequential or DC-first scan
};

/// Reads a SOF segment (`p` at its length field). False when it is malformed.
bool readFrame(const uint8_t *p, size_t length, uint8_t marker, JPEGFrame &frame) {
    if (length < 8) return false;
    const int count = p[7];
    if (count < 1 || count > 4 || length < size_t(8 + 3 * count)) return false;
    frame.seen = true;
    frame.huffman = marker == 0xC0 || marker == 0xC1 || marker == 0xC2;
    frame.progressive = marker == 0xC2 || marker == 0xCA;
    frame.components = count;
    for (int c = 0; c < count; ++c) {
        frame.id[c] = p[8 + 3 * c];
        frame.h[c] = p[9 + 3 * c] >> 4;
        frame.v[c] = p[9 + 3 * c] & 0x0F;
        if (frame.h[c] < 1 || frame.h[c] > 4 || frame.v[c] < 1 || frame.v[c] > 4) return false;
    }
    return true;
}

/// Notes which components a scan's DC pass covers (`p` at the SOS length field).
void readScan(const uint8_t *p, size_t length, JPEGFrame &frame) {
    if (length < 6) return;
    const int count = p[2];
    if (length < size_t(6 + 2 * count)) return;
    const uint8_t spectralStart = p[3 + 2 * count];
    const uint8_t approximationHigh = p[5 + 2 * count] >> 4;
    if (spectralStart != 0 || approximationHigh != 0) return;
    for (int s = 0; s < count; ++s) {
        for (int c = 0; c < frame.components; ++c) {
            if (frame.id[c] == p[3 + 2 * s]) frame.firstDCCoded[c] = true;
        }
    }
}

/// The fewest entropy-coded bytes that can hold `info`'s pixels: every 8×8 block of each
/// component whose DC is coded costs at least one Huffman code (≥ 1 bit), and in a sequential
/// scan a second one for its AC coefficients (an end-of-block code at the least).
uint64_t minimumEntropyBytes(const JPEGFrame &frame, const HeaderInfo &info) {
    int hMax = 1, vMax = 1;
    for (int c = 0; c < frame.components; ++c) {
        hMax = std::max<int>(hMax, frame.h[c]);
        vMax = std::max<int>(vMax, frame.v[c]);
    }
    uint64_t bits = 0;
    for (int c = 0; c < frame.components; ++c) {
        if (!frame.firstDCCoded[c]) continue;
        const uint64_t width = (uint64_t(info.width) * frame.h[c] + hMax - 1) / hMax;
        const uint64_t height = (uint64_t(info.height) * frame.v[c] + vMax - 1) / vMax;
        bits += ((width + 7) / 8) * ((height + 7) / 8) * (frame.progressive ? 1 : 2);
    }
    return bits / 8;
}

/// Walks JPEG segments and entropy-coded scans up to the end-of-image marker, and checks what
/// libjpeg would only warn about ("premature end of data segment", after which it fills the
/// rest with grey and reports success through OpenCV): that the data can hold the image the
/// header declares. It also caps the number of scans, which is what a decode costs.
cvb_status jpegComplete(const uint8_t *d, size_t n, const HeaderInfo &info, cvb_error *error) {
    size_t pos = 2;
    int scans = 0;
    uint64_t entropyBytes = 0;
    JPEGFrame frame;
    const uint64_t scanLimit = uint64_t(jpegScanLimit(info));
    while (pos + 2 <= n) {
        if (d[pos] != 0xFF) return fail(error, CVB_ERR_CORRUPT, "JPEG: expected a marker at byte %zu", pos);
        uint8_t marker = d[pos + 1];
        if (marker == 0xFF) { pos += 1; continue; }
        pos += 2;
        if (marker == 0xD9) {
            if (!frame.seen || !frame.huffman) return CVB_OK;
            const uint64_t needed = minimumEntropyBytes(frame, info);
            if (entropyBytes < needed) {
                return fail(error, CVB_ERR_CORRUPT,
                            "JPEG: the header declares %lld×%lld pixels, but the file holds %llu bytes of image data "
                            "and such an image needs at least %llu; the data ends early or the header is wrong",
                            static_cast<long long>(info.width), static_cast<long long>(info.height),
                            static_cast<unsigned long long>(entropyBytes), static_cast<unsigned long long>(needed));
            }
            return CVB_OK;
        }
        if (isStandaloneMarker(marker)) continue;
        if (pos + 2 > n) break;
        size_t length = be16(d + pos);
        if (length < 2) return fail(error, CVB_ERR_CORRUPT, "JPEG: segment of length %zu at byte %zu", length, pos);
        if (pos + length > n) break;
        if (isStartOfFrame(marker)) {
            if (frame.seen) return fail(error, CVB_ERR_CORRUPT, "JPEG: a second frame header at byte %zu", pos - 2);
            if (!readFrame(d + pos, length, marker, frame)) {
                return fail(error, CVB_ERR_CORRUPT, "JPEG: malformed frame header at byte %zu", pos - 2);
            }
        }
        if (marker == 0xDA) {
            ++scans;
            if (uint64_t(scans) > scanLimit) {
                return fail(error, CVB_ERR_CORRUPT,
                            "JPEG: more than %llu scans for a %lld×%lld image; decoding would take minutes "
                            "(encoders write at most a dozen), so the file is refused",
                            static_cast<unsigned long long>(scanLimit), static_cast<long long>(info.width),
                            static_cast<long long>(info.height));
            }
            readScan(d + pos, length, frame);
        }
        pos += length;
        if (marker != 0xDA) continue;
        // Entropy-coded data: 0xFF is followed by 0x00 (stuffing), a restart marker or fill bytes.
        const size_t dataStart = pos;
        while (pos + 1 < n) {
            if (d[pos] != 0xFF) { ++pos; continue; }
            uint8_t next = d[pos + 1];
            if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) { pos += 2; continue; }
            if (next == 0xFF) { ++pos; continue; }
            break;  // a real marker: back to segment parsing
        }
        entropyBytes += pos - dataStart;
    }
    return fail(error, CVB_ERR_TRUNCATED, "JPEG: the file ends before the end-of-image marker (truncated)");
}

cvb_status pngComplete(const uint8_t *d, size_t n, cvb_error *error) {
    size_t pos = 8;
    while (pos + 8 <= n) {
        uint64_t length = be32(d + pos);
        if (std::memcmp(d + pos + 4, "IEND", 4) == 0) return CVB_OK;
        pos += 12 + length;
    }
    return fail(error, CVB_ERR_TRUNCATED, "PNG: the file ends before the IEND chunk (truncated)");
}

cvb_status bmpComplete(const uint8_t *d, size_t n, const HeaderInfo &info, cvb_error *error) {
    if (n < 34) return fail(error, CVB_ERR_TRUNCATED, "BMP: the file ends inside the header");
    uint32_t dibSize = le32(d + 14);
    if (dibSize < 40) return CVB_OK;  // old OS/2 headers: leave it to the decoder
    uint32_t offset = le32(d + 10);
    uint16_t bitsPerPixel = le16(d + 28);
    uint32_t compression = le32(d + 30);
    if (compression != 0 && compression != 3) return CVB_OK;  // RLE sizes are data-dependent
    uint64_t rowBytes = ((uint64_t(info.width) * bitsPerPixel + 31) / 32) * 4;
    uint64_t needed = uint64_t(offset) + rowBytes * uint64_t(info.height);
    if (needed > n) {
        return fail(error, CVB_ERR_TRUNCATED, "BMP: the pixel array needs %llu bytes but the file has %zu (truncated)",
                    static_cast<unsigned long long>(needed), n);
    }
    return CVB_OK;
}

cvb_status riffComplete(const uint8_t *d, size_t n, cvb_error *error) {
    uint64_t declared = uint64_t(le32(d + 4)) + 8;
    if (declared > n) {
        return fail(error, CVB_ERR_TRUNCATED, "WebP: the header declares %llu bytes but the file has %zu (truncated)",
                    static_cast<unsigned long long>(declared), n);
    }
    return CVB_OK;
}

}  // namespace

int jpegScanLimit(const HeaderInfo &info) {
    const uint64_t pixels = uint64_t(info.width) * uint64_t(info.height);
    return int(std::min<uint64_t>(kMaxJPEGScans, std::max<uint64_t>(1, kMaxJPEGScanPixels / std::max<uint64_t>(1, pixels))));
}

const char *formatName(cvb_image_format format) {
    switch (format) {
        case CVB_FORMAT_JPEG: return "JPEG";
        case CVB_FORMAT_PNG: return "PNG";
        case CVB_FORMAT_BMP: return "BMP";
        case CVB_FORMAT_WEBP: return "WebP";
        case CVB_FORMAT_TIFF: return "TIFF";
        default: return "unknown";
    }
}

cvb_status probeHeader(const uint8_t *d, size_t n, HeaderInfo &info, cvb_error *error) {
    static const uint8_t pngMagic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (n == 0) return fail(error, CVB_ERR_EMPTY, "the file is empty (0 bytes)");
    cvb_status status;
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) {
        info.format = CVB_FORMAT_JPEG;
        status = probeJPEG(d, n, info, error);
    } else if (n >= 8 && std::memcmp(d, pngMagic, 8) == 0) {
        info.format = CVB_FORMAT_PNG;
        status = probePNG(d, n, info, error);
    } else if (n >= 2 && d[0] == 'B' && d[1] == 'M') {
        info.format = CVB_FORMAT_BMP;
        status = probeBMP(d, n, info, error);
    } else if (n >= 12 && std::memcmp(d, "RIFF", 4) == 0 && std::memcmp(d + 8, "WEBP", 4) == 0) {
        info.format = CVB_FORMAT_WEBP;
        status = probeWebP(d, n, info, error);
    } else if (n >= 4 && ((d[0] == 'I' && d[1] == 'I' && d[2] == 42 && d[3] == 0) ||
                          (d[0] == 'M' && d[1] == 'M' && d[2] == 0 && d[3] == 42))) {
        info.format = CVB_FORMAT_TIFF;
        status = probeTIFF(d, n, info, error);
    } else {
        return fail(error, CVB_ERR_UNSUPPORTED,
                    "not an image this program reads (JPEG, PNG, BMP, WebP or TIFF): unrecognised first bytes");
    }
    if (status != CVB_OK) return status;
    if (info.width <= 0 || info.height <= 0) {
        return fail(error, CVB_ERR_CORRUPT, "%s: the header declares an empty image (%lld×%lld)", formatName(info.format),
                    static_cast<long long>(info.width), static_cast<long long>(info.height));
    }
    return ok(error);
}

cvb_status checkComplete(const uint8_t *d, size_t n, const HeaderInfo &info, cvb_error *error) {
    switch (info.format) {
        case CVB_FORMAT_JPEG: return jpegComplete(d, n, info, error);
        case CVB_FORMAT_PNG: return pngComplete(d, n, error);
        case CVB_FORMAT_BMP: return bmpComplete(d, n, info, error);
        case CVB_FORMAT_WEBP: return riffComplete(d, n, error);
        default: return CVB_OK;  // TIFF: libtiff reports missing strips itself
    }
}

}  // namespace cvb

extern "C" cvb_status cvb_probe_memory(const uint8_t *data, size_t size, cvb_image_format *format,
                                       int32_t *width, int32_t *height, cvb_error *error) {
    if (data == nullptr && size > 0) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "no data");
    cvb::HeaderInfo info;
    cvb_status status = cvb::probeHeader(data, size, info, error);
    if (status != CVB_OK) return status;
    if (format) *format = info.format;
    if (width) *width = static_cast<int32_t>(std::min<int64_t>(info.width, INT32_MAX));
    if (height) *height = static_cast<int32_t>(std::min<int64_t>(info.height, INT32_MAX));
    return CVB_OK;
}
