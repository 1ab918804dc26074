// The lamp proposer and crops (Sources/CVBridge/Lamps.cpp) on the machine it runs on: built
// natively and for AArch64 (run under qemu) by scripts/test_neon.sh, whose outputs must be equal
// byte for byte. The native build is the one the Swift tests hold to lamps.py (ImagingTests'
// LampTests), so equal outputs put the AArch64 build (NEON lanes through clang's vector
// extensions) under the same contract. Two parts:
//
//   1. Every 24-bit colour's class and chroma against the contract's formula (lamps.py step 2),
//      written out here as plain scalar code: a mismatch fails on either machine by itself.
//   2. Seeded frames of every shape the proposer treats apart (widths not a multiple of 16, frames
//      averaged by 2 and 3, gray frames, one-pixel strips; discs, LED dots and bars of lamp
//      colours on noisy and flat backgrounds): each frame's candidates, its largest chroma (step 9)
//      and tile chroma (step 10), and a digest of every candidate's crops at 32 and 64 px, one line per frame.
//
// Usage: lamp_arch_test [frames]   (prints the lines; exit 1 on a colour-class mismatch)
#include "CVBridge.h"

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

/// lamps.py step 2, pixel by pixel: class 0 none, 1 red, 2 amber, 3 green; chroma = max - min.
int referenceClass(int r, int g, int b, int &chroma) {
    const cvb_lamp_contract k = cvb_lamp_contract_constants();
    const int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
    const int mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
    const int c = mx - mn;
    chroma = c;
    if (mx < k.min_brightness || 100 * c < k.min_saturation_pct * mx || c == 0) return 0;
    if (mx == r) {
        const int d = 60 * (g - b);
        if (d >= 25 * c) return 2;
        return d >= -30 * c ? 1 : 0;
    }
    if (mx == g) {
        const int d = 60 * (b - r);
        if (d < -55 * c) return 2;
        return d >= -40 * c ? 3 : 0;
    }
    const int d = 60 * (r - g);
    return d < -40 * c ? 3 : 0;
}

/// Part 1: returns the number of colours whose class or chroma differs from the formula.
long checkEveryColour() {
    constexpr int kRow = 4093;  // not a multiple of 16: the scalar tail runs on every row
    std::vector<uint8_t> rgb(size_t(kRow) * 3), classes(kRow), chroma(kRow);
    long wrong = 0;
    uint32_t next = 0;
    while (next < (1u << 24)) {
        int n = 0;
        for (; n < kRow && next < (1u << 24); ++n, ++next) {
            rgb[size_t(n) * 3] = uint8_t(next >> 16), rgb[size_t(n) * 3 + 1] = uint8_t(next >> 8);
            rgb[size_t(n) * 3 + 2] = uint8_t(next);
        }
        cvb_lamp_colour_classes(rgb.data(), size_t(n), classes.data(), chroma.data());
        for (int i = 0; i < n; ++i) {
            int c = 0;
            const int expected = referenceClass(rgb[size_t(i) * 3], rgb[size_t(i) * 3 + 1], rgb[size_t(i) * 3 + 2], c);
            if (classes[size_t(i)] != expected || chroma[size_t(i)] != c) {
                if (wrong < 5) {
                    std::fprintf(stderr, "colour %d,%d,%d: class %d chroma %d, the contract says %d and %d\n",
                                 rgb[size_t(i) * 3], rgb[size_t(i) * 3 + 1], rgb[size_t(i) * 3 + 2], classes[size_t(i)],
                                 chroma[size_t(i)], expected, c);
                }
                ++wrong;
            }
        }
    }
    return wrong;
}

/// xorshift64*: the same numbers on every machine.
struct Random {
    uint64_t state;
    uint64_t next() {
        state ^= state >> 12, state ^= state << 25, state ^= state >> 27;
        return state * 0x2545F4914F6CDD1DULL;
    }
    int below(int n) { return int(next() % uint64_t(n)); }
    int between(int lo, int hi) { return lo + below(hi - lo + 1); }
};

/// A frame of lamp-like shapes: a flat or noisy background, discs and squares of lamp colours,
/// LED dot clusters, long bars; some frames gray (one channel) and some nearly so.
std::vector<uint8_t> paint(Random &random, int width, int height, int channels) {
    std::vector<uint8_t> pixels(size_t(width) * size_t(height) * size_t(channels));
    const int base = random.between(0, 200), noise = random.below(4) == 0 ? 0 : random.between(1, 40);
    const bool tinted = random.below(3) != 0;  // otherwise every pixel grey, but for the shapes
    for (size_t i = 0; i < pixels.size(); i += size_t(channels)) {
        const int v = base + (noise ? random.below(noise) : 0);
        for (int c = 0; c < channels; ++c) {
            const int tint = tinted && channels == 3 ? random.below(9) : 0;
            pixels[i + size_t(c)] = uint8_t(v + tint > 255 ? 255 : v + tint);
        }
    }
    static const uint8_t lampColours[][3] = {{255, 40, 30},  {250, 200, 0},  {40, 230, 120}, {0, 200, 200},
                                             {200, 0, 200},  {255, 120, 60}, {60, 255, 140}, {120, 128, 120},
                                             {240, 20, 60},  {30, 160, 255}, {255, 255, 255}, {9, 0, 0}};
    const int shapes = random.below(14);
    for (int s = 0; s < shapes; ++s) {
        const uint8_t *colour = lampColours[random.below(int(sizeof lampColours / sizeof lampColours[0]))];
        const int cx = random.below(width), cy = random.below(height);
        const int kind = random.below(4);
        const int radius = random.between(1, 1 + (width < height ? width : height) / 4);
        const int dot = kind == 2 ? random.between(2, 6) : 1;  // LED dots: every dot-th pixel lit
        const int halfW = kind == 3 ? radius * random.between(3, 8) : radius, halfH = radius;
        for (int y = cy - halfH; y <= cy + halfH; ++y) {
            for (int x = cx - halfW; x <= cx + halfW; ++x) {
                if (x < 0 || y < 0 || x >= width || y >= height) continue;
                const long dx = x - cx, dy = y - cy;
                if (kind == 0 && dx * dx + dy * dy > long(radius) * radius) continue;
                if (kind == 2 && ((x - cx) % dot != 0 || (y - cy) % dot != 0)) continue;
                uint8_t *p = pixels.data() + (size_t(y) * size_t(width) + size_t(x)) * size_t(channels);
                for (int c = 0; c < channels; ++c) p[c] = channels == 3 ? colour[c] : colour[1];
            }
        }
    }
    return pixels;
}

/// FNV-1a over bytes, continued from `hash`.
uint64_t digest(const void *bytes, size_t count, uint64_t hash) {
    const uint8_t *p = static_cast<const uint8_t *>(bytes);
    for (size_t i = 0; i < count; ++i) hash = (hash ^ p[i]) * 0x100000001B3ULL;
    return hash;
}

const int kShapes[][2] = {{1, 1}, {7, 9}, {17, 5}, {33, 31}, {160, 120}, {319, 240}, {321, 241}, {640, 480},
                          {641, 37}, {1, 700}, {1280, 720}, {1281, 963}, {1500, 1100}, {2000, 40}};

}  // namespace

int main(int argc, char **argv) {
    const int frames = argc > 1 ? std::atoi(argv[1]) : 240;
    const long wrong = checkEveryColour();
    std::printf("colour classes of 16777216 colours: %ld differ from the contract\n", wrong);
    cvb_lamp_scratch *scratch = cvb_lamp_scratch_create(64, 48);
    if (scratch == nullptr) return 2;
    const float mean[3] = {0.485f, 0.456f, 0.406f}, stdev[3] = {0.229f, 0.224f, 0.225f};
    std::vector<float> crop(3 * 64 * 64);
    Random random{0x9E3779B97F4A7C15ULL};
    for (int f = 0; f < frames; ++f) {
        const int *shape = kShapes[f % int(sizeof kShapes / sizeof kShapes[0])];
        const int width = f < 14 ? shape[0] : random.between(1, 1500), height = f < 14 ? shape[1] : random.between(1, 1100);
        const int channels = random.below(6) == 0 ? 1 : 3;
        std::vector<uint8_t> pixels = paint(random, width, height, channels);
        const cvb_view view{pixels.data(), width, height, channels, size_t(width) * size_t(channels)};
        cvb_lamp_candidate found[CVB_LAMP_MAX_CANDIDATES];
        size_t count = 0;
        cvb_frame_colour colour{-1, -1};
        cvb_error error{};
        if (cvb_lamp_propose(&view, scratch, found, CVB_LAMP_MAX_CANDIDATES, &count, &colour, &error) != CVB_OK) {
            std::printf("frame %d %dx%dx%d: %s\n", f, width, height, channels, error.message);
            continue;
        }
        uint64_t crops = 0xCBF29CE484222325ULL;
        std::printf("frame %d %dx%dx%d chroma %d tiles %d:", f, width, height, channels, colour.chroma, colour.tile_chroma);
        for (size_t n = 0; n < count; ++n) {
            const cvb_lamp_candidate &k = found[n];
            std::printf(" [%d %d %d %d %d %d %d %d]", k.x0, k.y0, k.x1, k.y1, k.colour, k.scale, k.score, k.whole);
            int32_t x = 0, y = 0, w = 0, h = 0;
            if (cvb_lamp_crop_rect(&k, width, height, &x, &y, &w, &h, &error) != CVB_OK) return 3;
            for (int32_t size : {32, 64}) {
                const size_t values = size_t(channels) * size_t(size) * size_t(size);
                if (cvb_lamp_sample(&view, x, y, w, h, size, mean, stdev, crop.data(), values, &error) != CVB_OK) return 3;
                crops = digest(crop.data(), values * sizeof(float), crops);
            }
        }
        std::printf(" crops %016" PRIx64 "\n", crops);
    }
    cvb_lamp_scratch_free(scratch);
    return wrong == 0 ? 0 : 1;
}
