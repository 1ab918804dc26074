// libFuzzer target: the signal expert's lamp proposal and crops on any frame.
// The first five bytes choose the frame (width and height 1..1300, gray or RGB); the rest, repeated,
// are its pixels, so a short input still paints a large frame with lamps, LED dots and washes.
// What must hold: no crash, no out-of-bounds access; at most CVB_LAMP_MAX_CANDIDATES candidates, each
// a non-empty box; figures green; the whole frame last and only once; every crop sampled.
#include "CVBridge.h"

#include <cstdint>
#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 6) return 0;
    const int32_t width = 1 + ((data[0] | (data[1] << 8)) % 1300);
    const int32_t height = 1 + ((data[2] | (data[3] << 8)) % 1300);
    const int32_t channels = (data[4] & 1) ? 3 : 1;
    const uint8_t *paint = data + 5;
    const size_t paintSize = size - 5;
    std::vector<uint8_t> pixels(size_t(width) * size_t(height) * size_t(channels));
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = paint[i % paintSize];
    cvb_view frame{pixels.data(), width, height, channels, size_t(width) * size_t(channels)};

    // Created for a tiny frame: creation sizes every per-pixel buffer for any proposal image, and
    // only the box average's column sums grow, for frames wider than 1280 px.
    static cvb_lamp_scratch *scratch = cvb_lamp_scratch_create(8, 8);
    if (scratch == nullptr) std::abort();
    cvb_lamp_candidate found[CVB_LAMP_MAX_CANDIDATES];
    size_t count = 0;
    cvb_frame_colour colour{-1, -1};
    cvb_error error{};
    if (cvb_lamp_propose(&frame, scratch, found, CVB_LAMP_MAX_CANDIDATES, &count, &colour, &error) != CVB_OK) std::abort();
    if (count > CVB_LAMP_MAX_CANDIDATES) std::abort();
    if (colour.chroma < 0 || colour.chroma > 255 || (channels == 1 && colour.chroma != 0)) std::abort();
    // A tile's mean chroma is at most its largest pixel's.
    if (colour.tile_chroma < 0 || colour.tile_chroma > colour.chroma) std::abort();
    const float mean[3] = {0.485f, 0.456f, 0.406f}, stdev[3] = {0.229f, 0.224f, 0.225f};
    float crop[3 * 32 * 32];
    for (size_t n = 0; n < count; ++n) {
        const cvb_lamp_candidate &k = found[n];
        if (k.x1 <= k.x0 || k.y1 <= k.y0) std::abort();
        if (k.whole != 0 && n + 1 != count) std::abort();
        if (k.scale == 3 && k.colour != 3) std::abort();
        int32_t x = 0, y = 0, w = 0, h = 0;
        if (cvb_lamp_crop_rect(&k, width, height, &x, &y, &w, &h, &error) != CVB_OK) std::abort();
        if (cvb_lamp_sample(&frame, x, y, w, h, 32, mean, stdev, crop, sizeof crop / sizeof crop[0], &error) != CVB_OK) {
            std::abort();
        }
    }
    return 0;
}
