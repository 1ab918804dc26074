// EXIF orientation, read and applied exactly as OpenCV 4.6's imdecode(IMREAD_COLOR) does.
//
// The bridge decodes JPEGs through libjpeg itself (JPEGDecoder.cpp), so it must also turn them
// as OpenCV would have: the images the model was trained and evaluated on were read by cv2, and
// a photo taken with the phone on its side must come out the same way up (PNGs too, through
// PNGDecoder.cpp, from an eXIf chunk before the image data). OpenCV's EXIF reader
// is internal to imgcodecs, so its rules are restated here, quirks included: it reads the first
// APP1 segment whatever its name, skips six bytes, walks only the first directory, keeps the
// first entry of each tag, and gives up at the first entry it cannot read, keeping the entries
// before it. Only the orientation is kept, but the entries OpenCV parses before it can stop the
// walk, so their reads are repeated.
#include "Internal.hpp"

#include <opencv2/core.hpp>

namespace cvb {
namespace {

enum class ByteOrder { intel, motorola, none };

/// The entries of the first directory whose value OpenCV reads, and what that read touches.
enum class EntryRead { none, string, orientation, short16, rational1, rational2, rational3, rational6 };

EntryRead readFor(uint16_t tag) {
    switch (tag) {
        case 0x010E: case 0x010F: case 0x0110: case 0x0131: case 0x0132: case 0x8298: return EntryRead::string;
        case 0x0112: return EntryRead::orientation;
        case 0x0128: case 0x0213: return EntryRead::short16;
        case 0x011A: case 0x011B: return EntryRead::rational1;
        case 0x013E: return EntryRead::rational2;
        case 0x0211: return EntryRead::rational3;
        case 0x013F: case 0x0214: return EntryRead::rational6;
        default: return EntryRead::none;
    }
}

/// A bounds-checked view of the TIFF structure; a read past the end stops the walk, as
/// OpenCV's ExifParsingError does.
struct TIFFReader {
    const uint8_t *data;
    size_t size;
    ByteOrder order;

    bool u16(size_t at, uint16_t &value) const {
        if (at + 1 >= size) return false;
        value = order == ByteOrder::intel ? uint16_t(data[at] | (data[at + 1] << 8))
                                          : uint16_t((data[at] << 8) | data[at + 1]);
        return true;
    }

    bool u32(size_t at, uint32_t &value) const {
        if (at + 3 >= size) return false;
        const uint32_t b0 = data[at], b1 = data[at + 1], b2 = data[at + 2], b3 = data[at + 3];
        value = order == ByteOrder::intel ? b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)
                                          : (b0 << 24) | (b1 << 16) | (b2 << 8) | b3;
        return true;
    }

    /// The reads OpenCV makes for one entry's value; false when one of them falls outside.
    bool valueReadable(size_t entry, EntryRead read) const {
        uint16_t u16Value = 0;
        uint32_t u32Value = 0;
        switch (read) {
            case EntryRead::none: return true;
            case EntryRead::orientation:
            case EntryRead::short16: return u16(entry + 8, u16Value);
            case EntryRead::string: {
                if (!u32(entry + 4, u32Value)) return false;
                const uint64_t length = u32Value;
                uint64_t start = 8;
                if (length > 4) {
                    if (!u32(entry + 8, u32Value)) return false;
                    start = u32Value;
                }
                return start <= size && start + length <= size;
            }
            default: break;
        }
        const int count = read == EntryRead::rational1 ? 1 : read == EntryRead::rational2 ? 2 : read == EntryRead::rational3 ? 3 : 6;
        uint32_t rational = 0;
        if (!u32(entry + 8, rational)) return false;
        for (int i = 0; i < count; ++i, rational += 8) {  // uint32 arithmetic, as OpenCV's
            if (!u32(rational, u32Value) || !u32(size_t(rational) + 4, u32Value)) return false;
        }
        return true;
    }
};

}  // namespace

int exifOrientation(const uint8_t *app1, size_t length) {
    constexpr size_t kTIFFStart = 6;  // "Exif\0\0", which OpenCV skips without checking
    if (app1 == nullptr || length <= kTIFFStart) return 0;
    return tiffOrientation(app1 + kTIFFStart, length - kTIFFStart);
}

int tiffOrientation(const uint8_t *data, size_t length) {
    if (data == nullptr || length == 0) return 0;
    TIFFReader tiff{data, length, ByteOrder::none};
    if (tiff.size > 1 && tiff.data[0] != tiff.data[1]) {
        tiff.order = ByteOrder::none;
    } else if (tiff.data[0] == 'I') {
        tiff.order = ByteOrder::intel;
    } else if (tiff.data[0] == 'M') {
        tiff.order = ByteOrder::motorola;
    }
    uint16_t mark = 0, entries = 0;
    uint32_t directory = 0;
    if (!tiff.u16(2, mark) || mark != 0x2A) return 0;
    if (!tiff.u32(4, directory) || !tiff.u16(directory, entries)) return 0;
    int orientation = 0;
    bool seen = false;
    size_t entry = size_t(directory) + 2;
    for (uint16_t i = 0; i < entries; ++i, entry += 12) {
        uint16_t tag = 0;
        if (!tiff.u16(entry, tag)) break;
        const EntryRead read = readFor(tag);
        if (!tiff.valueReadable(entry, read)) break;
        if (read == EntryRead::orientation && !seen) {
            uint16_t value = 0;
            tiff.u16(entry + 8, value);
            orientation = value;
            seen = true;
        }
    }
    return orientation;
}

void applyExifOrientation(int orientation, cv::Mat &image) {
    switch (orientation) {
        case 2: cv::flip(image, image, 1); break;
        case 3: cv::flip(image, image, -1); break;
        case 4: cv::flip(image, image, 0); break;
        case 5: cv::transpose(image, image); break;
        case 6: cv::transpose(image, image); cv::flip(image, image, 1); break;
        case 7: cv::transpose(image, image); cv::flip(image, image, -1); break;
        case 8: cv::transpose(image, image); cv::flip(image, image, 0); break;
        default: break;  // 1 (as stored), 0 (none) and values EXIF does not define
    }
}

}  // namespace cvb
