// The signal expert's lamp candidates and crops: training/lttw/lamps.py, integer for integer.
//
// Plain loops over the caller's scratch, no OpenCV: every step is integer arithmetic (the crop's
// last three float32 operations excepted), so the boxes and crop values are the Python's exactly,
// and a frame no larger than one seen before allocates nothing.
#include "Status.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

// lamps.py's constants; the contract is the module docstring there.
constexpr int64_t kProposalLongSide = 640;
constexpr int kMinBrightness = 100;
constexpr int kMinSaturationPct = 35;
constexpr int64_t kMinLit = 3;
constexpr int64_t kMinFillPct = 12;
constexpr size_t kMaxBlobs = 12;
constexpr size_t kFigureFrom = 4;
constexpr int64_t kFigureGrowth = 2;
constexpr int64_t kWholeFrameMaxSide = 320;
/// lamps.WHOLE_FRAME_FILLING: a lamp filling the frame brings the whole frame (step 8).
constexpr int32_t kWholeFrameFilling = 1;
/// Step 7's lamp figures: green pixels gathered in cells of kClusterCellPct % of the proposal
/// image's shorter side; a mass between kClusterMinPct and kClusterMaxPct % of it; the first
/// kClusterMax masses, each a square of kClusterSideSixteenths/16 of its longer side, whose crop
/// (kCropContext times that) holds the mass at 5/4 of its size.
constexpr int64_t kClusterCellPct = 3;
constexpr int64_t kClusterMinPct = 8;
constexpr int64_t kClusterMaxPct = 75;
constexpr size_t kClusterMax = 1;
constexpr int64_t kClusterSideSixteenths = 5;
constexpr int64_t kCropContext = 4;
constexpr int64_t kCropSize = 32;
/// Crops up to this size are sampled a band of rows at a time (`sampleRowBand`); the reader's,
/// the verifier's and the countdown's squares are all smaller.
constexpr int64_t kMaxBandedSize = 128;
constexpr int64_t kCropMinSide = 16;
/// Step 9: a proposal image whose largest chroma is at most this shows no colour (a grey or
/// infrared camera), so the proposer is blind there and "no signal" would be a guess.
constexpr int32_t kColourlessChroma = 8;
/// Step 10: a proposal image whose tile means (tiles of kNoiseTile pixels a side) have chroma at
/// most kNoiseChroma shows colour only as sensor noise, which cancels in a tile's mean.
constexpr int64_t kNoiseTile = 16;
constexpr int32_t kNoiseChroma = 6;

static_assert(CVB_LAMP_MAX_CANDIDATES == kMaxBlobs + kFigureFrom + kClusterMax + 1,
              "the blobs, their figures, the lamp figures and the whole frame");

/// Python's floor division (C++ truncates towards zero); b > 0.
inline int64_t floorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/// An 8-bit RGB image somewhere in memory (the frame itself, or one of the scratch's).
struct Plane {
    const uint8_t *data = nullptr;
    int64_t width = 0;
    int64_t height = 0;
    size_t stride = 0;
};

/// One connected component of a dilated colour mask: its dilated extent (inclusive) and its own
/// pixels' count and chroma sum.
struct Component {
    int32_t x0, y0, x1, y1;
    int64_t lit;
    int64_t chroma;
};

/// Where one colour's pixels lie in one row: from `first` to `last` inclusive; empty when last < 0.
struct Span {
    int32_t first, last;
};

/// A run of one colour's own pixels in a row (x0..x1 inclusive) and their chroma sum.
struct OwnRun {
    int32_t x0, x1;
    int64_t chroma;
};

/// A run of a dilated mask's row (x0..x1 inclusive) and its provisional label.
struct MaskRun {
    int32_t x0, x1, label;
};

/// A blob that passed the filters, in frame pixels; `order` is its place in lamps.py's `found`
/// list (scale, colour, then component label), which its stable sort keeps among equal keys.
/// Only components of one mask with the same top-left corner can tie; one then lies nested in the
/// other's corner and comes first both in cv2's labelling order and in first-pixel raster order.
struct Blob {
    cvb_lamp_candidate box;
    int32_t order;
};

/// Step 7's green mass: a component of lit cells; its green pixels' count, extent (x1, y1
/// exclusive, proposal pixels) and chroma sum. A cell's statistics are kept in the same form.
struct Mass {
    int64_t n = 0;
    int32_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    int64_t chroma = 0;

    void add(const Mass &other) {
        if (n == 0) {
            *this = other;
            return;
        }
        n += other.n;
        chroma += other.chroma;
        x0 = std::min(x0, other.x0), y0 = std::min(y0, other.y0);
        x1 = std::max(x1, other.x1), y1 = std::max(y1, other.y1);
    }
    int64_t score() const { return chroma * 256 / n; }
};

/// lamps.green_masses' order: mean chroma, then size, descending; then top, then left.
bool precedes(const Mass &a, const Mass &b) {
    if (a.score() != b.score()) return a.score() > b.score();
    if (a.n != b.n) return a.n > b.n;
    if (a.y0 != b.y0) return a.y0 < b.y0;
    return a.x0 < b.x0;
}

bool before(const Blob &a, const Blob &b) {
    if (a.box.score != b.box.score) return a.box.score > b.box.score;
    if (a.box.scale != b.box.scale) return a.box.scale < b.box.scale;
    if (a.box.colour != b.box.colour) return a.box.colour < b.box.colour;
    if (a.box.y0 != b.box.y0) return a.box.y0 < b.box.y0;
    if (a.box.x0 != b.box.x0) return a.box.x0 < b.box.x0;
    return a.order < b.order;
}

/// Colour class of one pixel: 0 none, 1 red, 2 amber, 3 green (lamps.colour_classes).
inline uint8_t colourClass(int r, int g, int b, int &chroma) {
    const int mx = std::max(std::max(r, g), b);
    const int mn = std::min(std::min(r, g), b);
    const int c = mx - mn;
    chroma = c;
    if (mx < kMinBrightness || 100 * c < kMinSaturationPct * mx || c <= 0) return 0;
    if (r == mx) {
        const int d = 60 * (g - b);
        if (d >= 25 * c) return 2;
        return d >= -30 * c ? 1 : 0;
    }
    if (g == mx) {
        const int d = 60 * (b - r);
        if (d < -55 * c) return 2;
        return d >= -40 * c ? 3 : 0;
    }
    const int d = 60 * (r - g);
    return d < -40 * c ? 3 : 0;
}

typedef uint8_t U8x16 __attribute__((vector_size(16)));
typedef uint8_t U8x32 __attribute__((vector_size(32)));
typedef int16_t I16x16 __attribute__((vector_size(32)));

/// Which colours a row holds: bit `colour - 1` set when it has a pixel of that class.
using ColourSet = unsigned;

/// `colourClass` of 16 RGB pixels at once, in 16-bit lanes (every product fits: |60·(g - b)| ≤
/// 15,300, 100·c ≤ 25,500); adds to `held`, per lane, the colour found there as a bit (bit
/// `colour - 1`). The same integers, so the same classes.
inline __attribute__((always_inline)) void classify16(const uint8_t *rgb, uint8_t *classes, uint8_t *chroma,
                                                      I16x16 &held) {
    U8x16 p0, p1, p2;
    std::memcpy(&p0, rgb, 16);
    std::memcpy(&p1, rgb + 16, 16);
    std::memcpy(&p2, rgb + 32, 16);
    const U8x32 low = __builtin_shufflevector(p0, p1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
                                              19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
    const U8x32 high = __builtin_shufflevector(p2, p2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3,
                                               4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const I16x16 r = __builtin_convertvector(
        __builtin_shufflevector(low, high, 0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45), I16x16);
    const I16x16 g = __builtin_convertvector(
        __builtin_shufflevector(low, high, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46), I16x16);
    const I16x16 b = __builtin_convertvector(
        __builtin_shufflevector(low, high, 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 32, 35, 38, 41, 44, 47), I16x16);
    I16x16 mx = r > g ? r : g;
    mx = mx > b ? mx : b;
    I16x16 mn = r < g ? r : g;
    mn = mn < b ? mn : b;
    const I16x16 c = mx - mn;
    const I16x16 none = {}, red = none + 1, amber = none + 2, green = none + 3;
    const I16x16 lit = (mx >= kMinBrightness) & (100 * c >= kMinSaturationPct * mx) & (c > 0);
    const I16x16 dR = 60 * (g - b), dG = 60 * (b - r), dB = 60 * (r - g);
    const I16x16 ifRed = dR >= 25 * c ? amber : (dR >= -30 * c ? red : none);
    const I16x16 ifGreen = dG < -55 * c ? amber : (dG >= -40 * c ? green : none);
    const I16x16 ifBlue = dB < -40 * c ? green : none;
    const I16x16 k = lit & (r == mx ? ifRed : (g == mx ? ifGreen : ifBlue));
    const U8x16 k8 = __builtin_convertvector(k, U8x16), c8 = __builtin_convertvector(c, U8x16);
    std::memcpy(classes, &k8, 16);
    std::memcpy(chroma, &c8, 16);
    held |= ((k == red) & 1) | ((k == amber) & 2) | ((k == green) & 4);
}

/// One row's colour classes and chroma (`colourClass` per pixel, 16 at a time); returns the
/// colours it holds. Built for AVX2 too where the compiler can, picked when the CPU has it.
#if defined(__x86_64__) && defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
ColourSet classifyRow(const uint8_t *rgb, int64_t w, uint8_t *classes, uint8_t *chroma) {
    // The lanes' colour bits gathered over the row, then folded once.
    I16x16 held = {};
    int64_t x = 0;
    for (; x + 16 <= w; x += 16) classify16(rgb + x * 3, classes + x, chroma + x, held);
    ColourSet set = 0;
    for (int i = 0; i < 16; ++i) set |= ColourSet(held[i]);
    for (; x < w; ++x) {
        int c = 0;
        classes[x] = colourClass(rgb[x * 3], rgb[x * 3 + 1], rgb[x * 3 + 2], c);
        chroma[x] = uint8_t(c);
        if (classes[x] != 0) set |= 1u << (classes[x] - 1);
    }
    return set;
}

/// Where `colour` first and last lies in a row of `w` classes that holds it: eight classes at a
/// time, skipping words without it.
Span colourSpan(const uint8_t *classes, int64_t w, uint8_t colour) {
    constexpr uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    const uint64_t pattern = ones * colour;
    // A zero byte of word ^ pattern is a pixel of the colour; the lowest flagged byte is exact.
    auto flags = [&](int64_t x) {
        uint64_t word;
        std::memcpy(&word, classes + x, 8);
        const uint64_t v = word ^ pattern;
        return (v - ones) & ~v & highs;
    };
    int64_t first = -1, last = -1;
    int64_t x = 0;
    for (; x + 8 <= w && first < 0; x += 8) {
        if (const uint64_t f = flags(x)) first = x + __builtin_ctzll(f) / 8;
    }
    for (; x < w && first < 0; ++x) {
        if (classes[x] == colour) first = x;
    }
    int64_t end = w;
    for (; end - 8 >= first && last < 0; end -= 8) {
        if (flags(end - 8) == 0) continue;
        for (int64_t i = end - 1; i >= end - 8; --i) {
            if (classes[i] == colour) {
                last = i;
                break;
            }
        }
    }
    for (int64_t i = end - 1; i >= first && last < 0; --i) {
        if (classes[i] == colour) last = i;
    }
    return Span{int32_t(first), int32_t(last)};
}

template <typename T>
T *sized(std::vector<T> &buffer, size_t count) {
    if (buffer.size() < count) buffer.resize(count);
    return buffer.data();
}

bool validView(const cvb_view *view) {
    return view != nullptr && view->data != nullptr && view->width > 0 && view->height > 0 &&
           (view->channels == 1 || view->channels == 3) &&
           view->stride >= size_t(view->width) * size_t(view->channels);
}

}  // namespace

struct cvb_lamp_scratch {
    std::vector<uint8_t> first;       // the proposal image (f > 1), W1×H1 RGB
    std::vector<uint8_t> second;      // the second scale, W2×H2 RGB
    std::vector<uint32_t> columnSums; // one block row's column sums while box averaging
    std::vector<uint8_t> classes;     // colour class per pixel of the scale being searched
    std::vector<uint8_t> chroma;      // its c = max - min
    std::vector<uint8_t> tileImage;   // step 10: the proposal image box-averaged into tiles
    std::vector<Span> spans;          // per row and colour: where that colour's pixels lie
    std::vector<OwnRun> ownRuns;      // one colour's runs in three rows: the dilated row's sources
    std::vector<MaskRun> maskRuns;    // the dilated mask's runs in two rows: this one and the last
    std::vector<int32_t> parents;     // union-find over the provisional labels
    std::vector<Component> components; // per provisional label, then per final label
    std::vector<Blob> blobs;          // every blob that passed, both scales
    std::vector<Mass> cells;          // step 7: each cell's green pixels
    std::vector<int32_t> cellStack;   // the cells of the mass being gathered, still to visit
    Mass masses[kClusterMax];         // the first kClusterMax masses so far, in order
    size_t massCount = 0;

    /// Step 7's cells of a w1×h1 proposal image (cells of at least 2 pixels, the last ones partial).
    static size_t cellCount(int64_t w1, int64_t h1) {
        const int64_t cell = std::max(int64_t(2), kClusterCellPct * std::min(w1, h1) / 100);
        return size_t(((w1 + cell - 1) / cell) * ((h1 + cell - 1) / cell));
    }

    /// The most cells any proposal image has (its long side is at most kProposalLongSide): a
    /// thin one, whose cells are 2 pixels, not a square one (34×34 cells at 640 px).
    static size_t mostCells() {
        size_t most = 0;
        for (int64_t shorter = 1; shorter <= kProposalLongSide; ++shorter) {
            most = std::max(most, cellCount(kProposalLongSide, shorter));
        }
        return most;
    }

    void fitCells(size_t count) {
        sized(cells, count);
        sized(cellStack, count);
    }

    /// Grows every buffer for a frame of width×height; nothing when it fits already.
    void fit(int64_t width, int64_t height) {
        const int64_t f = (std::max(width, height) + kProposalLongSide - 1) / kProposalLongSide;
        const size_t w1 = size_t(width / f), h1 = size_t(height / f);
        const size_t pixels = w1 * h1;
        if (f > 1) sized(first, pixels * 3);
        sized(columnSums, w1 * size_t(f) * 3);
        sized(classes, pixels);
        sized(chroma, pixels);
        // Tiles are at least 2 pixels a side (a side of 1 reads the image itself).
        sized(tileImage, (w1 / 2) * (h1 / 2) * 3);
        sized(spans, h1 * 3);
        // Runs in one row are at least one pixel apart, so a row holds at most (w1 + 1) / 2.
        const size_t runs = (w1 + 1) / 2;
        sized(ownRuns, 3 * runs);
        sized(maskRuns, 2 * runs);
        // A run opens a provisional label only when no run of the row above lies within one
        // pixel of it, so its first pixel's left, upper-left, upper and upper-right neighbours are
        // unset, and two such pixels are at least 2 apart: one per 2×2 cell at most.
        const size_t provisional = ((w1 + 1) / 2) * ((h1 + 1) / 2) + 1;
        sized(parents, provisional);
        sized(components, provisional);
        // Pixels of one colour in two components of its dilated mask are at least 4 apart, so
        // each scale has at most one blob per colour and 4×4 cell.
        const size_t w2 = w1 / 2, h2 = h1 / 2;
        sized(second, w2 * h2 * 3);
        sized(blobs, 3 * (((w1 + 3) / 4) * ((h1 + 3) / 4) + ((w2 + 3) / 4) * ((h2 + 3) / 4)));
        fitCells(cellCount(int64_t(w1), int64_t(h1)));
    }
};

namespace {

/// floor(n / d) for a fixed d > 1 without a hardware divide per value when n and d fit 32 bits
/// (Lemire, Kaser and Kurz's multiply-and-shift, exact there); a plain division otherwise.
struct Divider {
    uint64_t d;
    uint64_t magic;
    bool fast;

    explicit Divider(uint64_t divisor, uint64_t largest)
        : d(divisor), magic(UINT64_MAX / divisor + 1), fast(divisor > 1 && largest <= UINT32_MAX) {}

    uint64_t operator()(uint64_t n) const {
        return fast ? uint64_t((static_cast<unsigned __int128>(magic) * n) >> 64) : n / d;
    }
};

/// (sum of each f×f block + f²//2) // f², per channel, the partial last block dropped: the
/// block's rows are summed column by column first (a loop that vectorises), then across.
void boxAverage(const Plane &in, int64_t f, uint8_t *out, uint32_t *columnSums) {
    const int64_t w = in.width / f, h = in.height / f;
    if (f == 2) {
        // Every frame's second scale (and the first of a frame 641 to 1,280 px long):
        // (a + b + c + d + 2) / 4 is a shift.
        for (int64_t y = 0; y < h; ++y) {
            const uint8_t *upper = in.data + size_t(2 * y) * in.stride, *lower = upper + in.stride;
            uint8_t *target = out + size_t(y * w) * 3;
            for (int64_t x = 0; x < w; ++x) {
                const uint8_t *a = upper + x * 6, *b = lower + x * 6;
                for (int c = 0; c < 3; ++c) {
                    target[x * 3 + c] = uint8_t((unsigned(a[c]) + a[c + 3] + b[c] + b[c + 3] + 2) >> 2);
                }
            }
        }
        return;
    }
    const uint64_t area = uint64_t(f) * uint64_t(f);
    const Divider divide(area, 255 * area + area / 2);
    const size_t columns = size_t(w * f) * 3;
    for (int64_t y = 0; y < h; ++y) {
        std::fill(columnSums, columnSums + columns, uint32_t(0));
        for (int64_t dy = 0; dy < f; ++dy) {
            const uint8_t *row = in.data + size_t(y * f + dy) * in.stride;
            for (size_t i = 0; i < columns; ++i) columnSums[i] += row[i];
        }
        uint8_t *target = out + size_t(y * w) * 3;
        for (int64_t x = 0; x < w; ++x) {
            const uint32_t *block = columnSums + size_t(x * f) * 3;
            uint64_t sums[3] = {0, 0, 0};
            for (int64_t dx = 0; dx < f; ++dx) {
                sums[0] += block[dx * 3];
                sums[1] += block[dx * 3 + 1];
                sums[2] += block[dx * 3 + 2];
            }
            for (int c = 0; c < 3; ++c) target[x * 3 + c] = uint8_t(divide(sums[c] + area / 2));
        }
    }
}

/// lamps.tile_chroma (step 10): the largest chroma of the image box-averaged (step 1's averaging)
/// by min(kNoiseTile, w, h), into `tiles` (room for a quarter of the image's pixels).
int32_t tileChroma(const Plane &image, uint8_t *tiles, uint32_t *columnSums) {
    const int64_t side = std::min({kNoiseTile, image.width, image.height});
    if (side <= 0) return 0;
    const uint8_t *averaged = image.data;
    if (side > 1) {
        boxAverage(image, side, tiles, columnSums);
        averaged = tiles;
    }
    const int64_t count = (image.width / side) * (image.height / side);
    int32_t most = 0;
    for (int64_t i = 0; i < count; ++i) {
        const uint8_t *pixel = averaged + size_t(i) * 3;
        most = std::max(most, int32_t(std::max({pixel[0], pixel[1], pixel[2]}) - std::min({pixel[0], pixel[1], pixel[2]})));
    }
    return most;
}

int32_t findRoot(int32_t *parents, int32_t label) {
    while (parents[label] != label) {
        parents[label] = parents[parents[label]];
        label = parents[label];
    }
    return label;
}

/// Joins two provisional sets and their components; the smaller root stays the root.
int32_t join(int32_t *parents, Component *components, int32_t a, int32_t b) {
    a = findRoot(parents, a);
    b = findRoot(parents, b);
    if (a == b) return a;
    if (a > b) std::swap(a, b);
    parents[b] = a;
    Component &k = components[a];
    const Component &m = components[b];
    k.x0 = std::min(k.x0, m.x0);
    k.y0 = std::min(k.y0, m.y0);
    k.x1 = std::max(k.x1, m.x1);
    k.y1 = std::max(k.y1, m.y1);
    k.lit += m.lit;
    k.chroma += m.chroma;
    return a;
}

/// Row y's runs of one colour within its span (none when y is outside the image); returns their number.
size_t ownRuns(const uint8_t *classes, const uint8_t *chroma, const Span *spans, int64_t w, int64_t h, int64_t y,
               uint8_t colour, OwnRun *out) {
    if (y < 0 || y >= h) return 0;
    const Span span = spans[size_t(y) * 3 + colour - 1];
    const uint8_t *cls = classes + size_t(y * w), *chr = chroma + size_t(y * w);
    size_t count = 0;
    for (int32_t x = span.first; x <= span.last;) {
        if (cls[x] != colour) {
            ++x;
            continue;
        }
        const int32_t start = x;
        int64_t sum = 0;
        for (; x <= span.last && cls[x] == colour; ++x) sum += chr[x];
        out[count++] = OwnRun{start, x - 1, sum};
    }
    return count;
}

/// A row of the mask dilated by a 3×3 square (outside the image is unlit): the own runs of that
/// row and the rows above and below, each widened by a pixel either side and clipped to the
/// image, merged where they overlap or touch. Returns their number.
size_t maskRuns(const OwnRun *const rows[3], const size_t counts[3], int32_t width, MaskRun *out) {
    size_t at[3] = {0, 0, 0};
    size_t count = 0;
    for (;;) {
        int pick = -1;
        for (int r = 0; r < 3; ++r) {
            if (at[r] < counts[r] && (pick < 0 || rows[r][at[r]].x0 < rows[pick][at[pick]].x0)) pick = r;
        }
        if (pick < 0) return count;
        const OwnRun &run = rows[pick][at[pick]++];
        const int32_t x0 = std::max(run.x0 - 1, 0), x1 = std::min(run.x1 + 1, width - 1);
        if (count > 0 && x0 <= out[count - 1].x1 + 1) {
            out[count - 1].x1 = std::max(out[count - 1].x1, x1);
        } else {
            out[count++] = MaskRun{x0, x1, 0};
        }
    }
}

/// 8-connected components of one colour's mask dilated by a 3×3 square, as cv2 labels them
/// (ordered by each one's first pixel in raster order), with their dilated extent and their own
/// pixels' count and chroma sum; components[1...] gets them, and the count is returned.
///
/// The mask is built and labelled a row of runs at a time, and only on the rows where that colour
/// lies, so the work follows the lit pixels rather than the extent they span. A run takes the
/// smallest label among the last row's runs within one pixel of it, or opens a new one; a set's
/// root is its smallest label, which its first run opened, so the roots in label order are the
/// components in first-pixel order.
int32_t label(const uint8_t *classes, const uint8_t *chroma, const Span *spans, int64_t w, int64_t h, uint8_t colour,
              int64_t top, int64_t bottom, cvb_lamp_scratch &scratch) {
    int32_t *parents = scratch.parents.data();
    Component *components = scratch.components.data();
    const size_t capacity = (size_t(w) + 1) / 2;
    OwnRun *rows[3] = {scratch.ownRuns.data(), scratch.ownRuns.data() + capacity,
                       scratch.ownRuns.data() + 2 * capacity};
    MaskRun *last = scratch.maskRuns.data(), *current = last + capacity;
    const int64_t from = std::max(top - 1, int64_t(0)), to = std::min(bottom + 1, h - 1);
    size_t counts[3] = {0, ownRuns(classes, chroma, spans, w, h, from, colour, rows[1]),
                        ownRuns(classes, chroma, spans, w, h, from + 1, colour, rows[2])};
    size_t lastCount = 0;
    int32_t next = 1;
    for (int64_t y = from; y <= to; ++y) {
        const size_t count = maskRuns(rows, counts, int32_t(w), current);
        const OwnRun *own = rows[1];
        size_t above = 0, inside = 0;
        for (size_t i = 0; i < count; ++i) {
            MaskRun &run = current[i];
            while (above < lastCount && last[above].x1 < run.x0 - 1) ++above;
            int32_t root = 0;
            for (size_t j = above; j < lastCount && last[j].x0 <= run.x1 + 1; ++j) {
                root = root == 0 ? findRoot(parents, last[j].label) : join(parents, components, root, last[j].label);
            }
            int64_t lit = 0, sum = 0;
            for (; inside < counts[1] && own[inside].x0 <= run.x1; ++inside) {
                lit += own[inside].x1 - own[inside].x0 + 1;
                sum += own[inside].chroma;
            }
            if (root == 0) {
                root = next++;
                parents[root] = root;
                components[root] = Component{run.x0, int32_t(y), run.x1, int32_t(y), lit, sum};
            } else {
                Component &k = components[root];
                k.x0 = std::min(k.x0, run.x0);
                k.x1 = std::max(k.x1, run.x1);
                k.y1 = int32_t(y);
                k.lit += lit;
                k.chroma += sum;
            }
            run.label = root;
        }
        std::swap(last, current);
        lastCount = count;
        OwnRun *const reused = rows[0];
        rows[0] = rows[1], rows[1] = rows[2], rows[2] = reused;
        counts[0] = counts[1], counts[1] = counts[2];
        counts[2] = ownRuns(classes, chroma, spans, w, h, y + 2, colour, rows[2]);
    }
    int32_t found = 0;
    for (int32_t n = 1; n < next; ++n) {
        if (parents[n] == n) components[++found] = components[n];
    }
    return found;
}

/// The largest of `n` chroma values (one pass the compiler vectorises).
uint8_t largest(const uint8_t *values, int64_t n) {
    uint8_t most = 0;
    for (int64_t i = 0; i < n; ++i) most = values[i] > most ? values[i] : most;
    return most;
}

/// lamps._blobs for one scale: appends the passing components, in found-list order, as blobs;
/// raises `frameChroma`, when given, to the image's largest chroma (step 9, scale 1).
void findBlobs(const Plane &image, int32_t scale, int64_t factor, cvb_lamp_scratch &scratch, size_t &blobCount,
               bool &frameFilling, int32_t *frameChroma) {
    const int64_t w = image.width, h = image.height;
    uint8_t *classes = scratch.classes.data();
    uint8_t *chroma = scratch.chroma.data();
    Span *spans = scratch.spans.data();
    // Each colour's span per row and its first and last rows, so that its mask is built and
    // labelled there only.
    int64_t top[4] = {h, h, h, h}, bottom[4] = {-1, -1, -1, -1};
    for (int64_t y = 0; y < h; ++y) {
        const uint8_t *row = image.data + size_t(y) * image.stride;
        uint8_t *cls = classes + size_t(y * w);
        uint8_t *chr = chroma + size_t(y * w);
        const ColourSet colours = classifyRow(row, w, cls, chr);
        if (frameChroma != nullptr) *frameChroma = std::max(*frameChroma, int32_t(largest(chr, w)));
        for (uint8_t colour = 1; colour <= 3; ++colour) {
            if ((colours >> (colour - 1) & 1) == 0) {
                spans[size_t(y) * 3 + colour - 1] = Span{int32_t(w), -1};
                continue;
            }
            spans[size_t(y) * 3 + colour - 1] = colourSpan(cls, w, colour);
            top[colour] = std::min(top[colour], y);
            bottom[colour] = y;
        }
    }
    const int64_t shorter = std::min(w, h);
    for (uint8_t colour = 1; colour <= 3; ++colour) {
        if (bottom[colour] < 0) continue;
        const int32_t count = label(classes, chroma, spans, w, h, colour, top[colour], bottom[colour], scratch);
        const Component *components = scratch.components.data();
        for (int32_t n = 1; n <= count; ++n) {
            const Component &k = components[n];
            const int64_t cw = int64_t(k.x1) - k.x0 + 1, ch = int64_t(k.y1) - k.y0 + 1;
            const int64_t longer = std::max(cw, ch), narrower = std::min(cw, ch);
            if (k.lit < kMinLit || longer > 4 * narrower || 100 * k.lit < kMinFillPct * cw * ch) continue;
            if (2 * longer > shorter) {
                frameFilling = true;
                continue;
            }
            Blob &blob = scratch.blobs[blobCount];
            blob.box = cvb_lamp_candidate{int32_t(k.x0 * factor), int32_t(k.y0 * factor),
                                          int32_t((k.x0 + cw) * factor), int32_t((k.y0 + ch) * factor), colour,
                                          int32_t(scale), int32_t(k.chroma * 256 / k.lit), 0};
            blob.order = int32_t(blobCount);
            ++blobCount;
        }
    }
}

/// Per channel sums of the frame's pixels in rows [rowFrom, rowTo) and columns [colFrom, colTo).
template <int Channels>
void sumBlock(const cvb_view &frame, int64_t rowFrom, int64_t rowTo, int64_t colFrom, int64_t colTo, int64_t *sums) {
    for (int64_t row = rowFrom; row < rowTo; ++row) {
        const uint8_t *pixel = frame.data + size_t(row) * frame.stride + size_t(colFrom) * Channels;
        uint64_t rowSums[Channels] = {};
        for (int64_t col = colFrom; col < colTo; ++col, pixel += Channels) {
            for (int c = 0; c < Channels; ++c) rowSums[c] += pixel[c];
        }
        for (int c = 0; c < Channels; ++c) sums[c] += int64_t(rowSums[c]);
    }
}

/// Source pixels whose column sums one chunk of `sampleRowBand` holds (at most 12 KB on the stack).
constexpr int64_t kColumnChunk = 1024;

/// Rows a band may have for its column sums to fit 16 bits (257 · 255 = 65,535).
constexpr int64_t kNarrowBandRows = 65535 / 255;

/// columns[k] = the sum of `rows` rows' byte k (k < values), each row `stride` bytes after the
/// last: a crop band's column sums (the caller keeps them within the sum's width).
template <typename ColumnSum>
inline __attribute__((always_inline)) void addRowsInto(const uint8_t *first, size_t stride, int64_t rows,
                                                        int64_t values, ColumnSum *columns) {
    std::fill(columns, columns + values, ColumnSum(0));
    for (int64_t row = 0; row < rows; ++row) {
        const uint8_t *pixel = first + size_t(row) * stride;
        for (int64_t k = 0; k < values; ++k) columns[k] = ColumnSum(columns[k] + pixel[k]);
    }
}

/// `addRowsInto` for 16- and 32-bit sums, each built for AVX2 too, picked when the CPU has it.
#if defined(__x86_64__) && defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void addRows(const uint8_t *first, size_t stride, int64_t rows, int64_t values, uint16_t *columns) {
    addRowsInto(first, stride, rows, values, columns);
}

#if defined(__x86_64__) && defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void addRows(const uint8_t *first, size_t stride, int64_t rows, int64_t values, uint32_t *columns) {
    addRowsInto(first, stride, rows, values, columns);
}

/// Per channel sums of every block of one output row of a shrinking crop: source rows [rowFrom,
/// rowTo), and output column j covering columns [x + j·width/size, x + (j+1)·width/size) (clipped
/// to the frame). The band's rows are added into column sums a chunk of columns at a time, each
/// row read once and contiguously (the compiler vectorises the add; in 16-bit lanes, twice as
/// many per instruction, when the band has at most kNarrowBandRows rows), then each block sums
/// its columns: the same integers as `sumBlock` per block, for a fraction of the reads' cost when
/// a block spans many pixels (a whole-frame candidate's crop covers the whole frame).
template <int Channels, typename ColumnSum>
void sampleRowBandWith(const cvb_view &frame, int64_t rowFrom, int64_t rowTo, int64_t x, int64_t width, int64_t size,
                       int64_t *sums) {
    const int64_t W = frame.width;
    ColumnSum columns[kColumnChunk * Channels];
    int64_t j0 = 0;
    while (j0 < size) {
        const int64_t from = std::clamp(x + j0 * width / size, int64_t(0), W);
        int64_t j1 = j0;
        while (j1 < size && std::clamp(x + (j1 + 1) * width / size, int64_t(0), W) - from <= kColumnChunk) ++j1;
        if (j1 == j0) {
            // One block wider than a chunk: summed on its own.
            const int64_t to = std::clamp(x + (j0 + 1) * width / size, int64_t(0), W);
            sumBlock<Channels>(frame, rowFrom, rowTo, from, to, sums + j0 * Channels);
            ++j0;
            continue;
        }
        const int64_t to = std::clamp(x + j1 * width / size, int64_t(0), W);
        const int64_t values = (to - from) * Channels;
        addRows(frame.data + size_t(rowFrom) * frame.stride + size_t(from) * Channels, frame.stride, rowTo - rowFrom,
                values, columns);
        for (int64_t j = j0; j < j1; ++j) {
            const int64_t colFrom = std::clamp(x + j * width / size, int64_t(0), W) - from;
            const int64_t colTo = std::clamp(x + (j + 1) * width / size, int64_t(0), W) - from;
            uint64_t block[Channels] = {};
            for (int64_t col = colFrom; col < colTo; ++col) {
                for (int c = 0; c < Channels; ++c) block[c] += columns[col * Channels + c];
            }
            for (int c = 0; c < Channels; ++c) sums[j * Channels + c] += int64_t(block[c]);
        }
        j0 = j1;
    }
}

/// `sampleRowBand` with 16-bit column sums where the band is short enough, 32-bit otherwise.
template <int Channels>
void sampleRowBand(const cvb_view &frame, int64_t rowFrom, int64_t rowTo, int64_t x, int64_t width, int64_t size,
                   int64_t *sums) {
    if (rowTo - rowFrom <= kNarrowBandRows) {
        sampleRowBandWith<Channels, uint16_t>(frame, rowFrom, rowTo, x, width, size, sums);
    } else {
        sampleRowBandWith<Channels, uint32_t>(frame, rowFrom, rowTo, x, width, size, sums);
    }
}

/// numpy's float32 steps from a block's sum to the reader's input: sum / count, / 255, - mean,
/// / std. Each step is one correctly rounded operation (no contraction in this file), so the
/// vectorised loop gives the scalar's bits; built for AVX2 too, picked when the CPU has it.
#if defined(__x86_64__) && defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void normaliseBlocks(const float *sums, const float *counts, int64_t n, float mean, float deviation, float *out) {
    for (int64_t k = 0; k < n; ++k) out[k] = (sums[k] / counts[k] / 255.0f - mean) / deviation;
}

bool overlapsOverHalf(const cvb_lamp_candidate &a, const cvb_lamp_candidate &b) {
    const int64_t iw = int64_t(std::min(a.x1, b.x1)) - std::max(a.x0, b.x0);
    const int64_t ih = int64_t(std::min(a.y1, b.y1)) - std::max(a.y0, b.y0);
    if (iw <= 0 || ih <= 0) return false;
    const int64_t intersection = iw * ih;
    const int64_t areaA = int64_t(a.x1 - a.x0) * (a.y1 - a.y0), areaB = int64_t(b.x1 - b.x0) * (b.y1 - b.y0);
    return 2 * intersection > areaA + areaB - intersection;
}

/// lamps.figures: the squares of kFigureGrowth times the longer side of the green ones among the
/// first kFigureFrom blobs, on their centres, appended after the `blobs` kept ones; returns how many.
size_t appendFigures(cvb_lamp_candidate *out, size_t blobs, int64_t W, int64_t H) {
    size_t count = blobs;
    for (size_t i = 0; i < std::min(blobs, kFigureFrom); ++i) {
        const cvb_lamp_candidate &blob = out[i];
        if (blob.colour != 3) continue;
        const int64_t side = kFigureGrowth * std::max(blob.x1 - blob.x0, blob.y1 - blob.y0);
        if (2 * side > std::min(W, H)) continue;
        const int64_t x0 = floorDiv(int64_t(blob.x0) + blob.x1 - side, 2);
        const int64_t y0 = floorDiv(int64_t(blob.y0) + blob.y1 - side, 2);
        const cvb_lamp_candidate figure{int32_t(x0), int32_t(y0), int32_t(x0 + side), int32_t(y0 + side),
                                        blob.colour, 3, blob.score, 0};
        bool suppressed = false;
        for (size_t j = 0; j < count && !suppressed; ++j) suppressed = overlapsOverHalf(figure, out[j]);
        if (!suppressed) out[count++] = figure;
    }
    return count;
}

/// lamps.green_masses on the proposal image whose classes and chroma `findBlobs` left in the
/// scratch: the green pixels gathered per cell, the 8-connected lit cells gathered into masses
/// (each visited from its first cell in raster order; two masses never tie on lamps.py's sort
/// key, so the order they are found in never decides), and the first kClusterMax that pass kept
/// in scratch.masses, in lamps.py's order.
void findMasses(int64_t w, int64_t h, cvb_lamp_scratch &scratch) {
    scratch.massCount = 0;
    const int64_t shorter = std::min(w, h);
    const int64_t cell = std::max(int64_t(2), kClusterCellPct * shorter / 100);
    const int64_t gx = (w + cell - 1) / cell, gy = (h + cell - 1) / cell;
    Mass *cells = scratch.cells.data();
    std::fill(cells, cells + gx * gy, Mass{});
    const uint8_t *classes = scratch.classes.data();
    const uint8_t *chroma = scratch.chroma.data();
    const Span *spans = scratch.spans.data();
    for (int64_t y = 0; y < h; ++y) {
        // Only where findBlobs saw green in this row.
        const Span green = spans[size_t(y) * 3 + 2];
        if (green.last < 0) continue;
        const uint8_t *cls = classes + size_t(y * w);
        Mass *row = cells + (y / cell) * gx;
        for (int64_t x = green.first; x <= green.last; ++x) {
            if (cls[x] != 3) continue;
            row[x / cell].add(Mass{1, int32_t(x), int32_t(y), int32_t(x + 1), int32_t(y + 1), chroma[y * w + x]});
        }
    }
    int32_t *stack = scratch.cellStack.data();
    for (int64_t first = 0; first < gx * gy; ++first) {
        if (cells[first].n == 0) continue;
        // A visited cell is emptied, so each is gathered once.
        Mass mass = cells[first];
        cells[first].n = 0;
        size_t depth = 0;
        stack[depth++] = int32_t(first);
        while (depth > 0) {
            const int64_t at = stack[--depth], cx = at % gx, cy = at / gx;
            for (int64_t ny = std::max(cy - 1, int64_t(0)); ny <= std::min(cy + 1, gy - 1); ++ny) {
                for (int64_t nx = std::max(cx - 1, int64_t(0)); nx <= std::min(cx + 1, gx - 1); ++nx) {
                    Mass &next = cells[ny * gx + nx];
                    if (next.n == 0) continue;
                    mass.add(next);
                    next.n = 0;
                    stack[depth++] = int32_t(ny * gx + nx);
                }
            }
        }
        const int64_t mw = mass.x1 - mass.x0, mh = mass.y1 - mass.y0, longer = std::max(mw, mh);
        if (100 * longer < kClusterMinPct * shorter || 100 * longer > kClusterMaxPct * shorter ||
            longer > 4 * std::min(mw, mh)) {
            continue;
        }
        // Insert in order; an equal one found earlier stays first (Python's stable sort).
        size_t at = scratch.massCount;
        while (at > 0 && precedes(mass, scratch.masses[at - 1])) --at;
        if (at >= kClusterMax) continue;
        const size_t last = std::min(scratch.massCount, kClusterMax - 1);
        for (size_t i = last; i > at; --i) scratch.masses[i] = scratch.masses[i - 1];
        scratch.masses[at] = mass;
        scratch.massCount = std::min(scratch.massCount + 1, kClusterMax);
    }
}

/// lamps.lamp_figures: the kept masses as figure candidates (the square whose crop frames the
/// mass at kClusterSideSixteenths/16 of its size), each unless its crop is smaller than the reader's
/// input (so tight a crop of a small glow is a green disc and nothing else) or it overlaps one
/// already in `out`; returns the new count.
size_t appendLampFigures(cvb_lamp_candidate *out, size_t count, const cvb_lamp_scratch &scratch, int64_t f) {
    for (size_t i = 0; i < scratch.massCount; ++i) {
        const Mass &m = scratch.masses[i];
        const int64_t X0 = m.x0 * f, Y0 = m.y0 * f, X1 = m.x1 * f, Y1 = m.y1 * f;
        const int64_t side = std::max(int64_t(1), kClusterSideSixteenths * std::max(X1 - X0, Y1 - Y0) / 16);
        const int64_t x0 = floorDiv(X0 + X1 - side, 2), y0 = floorDiv(Y0 + Y1 - side, 2);
        const cvb_lamp_candidate figure{int32_t(x0), int32_t(y0), int32_t(x0 + side), int32_t(y0 + side), 3, 3,
                                        int32_t(m.score()), 0};
        bool suppressed = kCropContext * side < kCropSize;
        for (size_t j = 0; j < count && !suppressed; ++j) suppressed = overlapsOverHalf(figure, out[j]);
        if (!suppressed) out[count++] = figure;
    }
    return count;
}

}  // namespace

extern "C" cvb_lamp_scratch *cvb_lamp_scratch_create(int32_t max_width, int32_t max_height) {
    auto *scratch = new (std::nothrow) cvb_lamp_scratch();
    if (scratch == nullptr) return nullptr;
    try {
        scratch->fit(std::max(max_width, 1), std::max(max_height, 1));
        // Every per-pixel buffer is sized by the proposal image, whose long side is at most
        // kProposalLongSide: a square frame of twice that covers all of them (and the box
        // average's first image), so a stream whose frames change shape, portrait to square
        // to landscape, never grows the scratch.
        scratch->fit(2 * kProposalLongSide, 2 * kProposalLongSide);
        scratch->fitCells(cvb_lamp_scratch::mostCells());
    } catch (...) {
        delete scratch;
        return nullptr;
    }
    return scratch;
}

extern "C" void cvb_lamp_scratch_free(cvb_lamp_scratch *scratch) { delete scratch; }

extern "C" void cvb_lamp_colour_classes(const uint8_t *rgb, size_t count, uint8_t *classes, uint8_t *chroma) {
    if (rgb == nullptr || classes == nullptr || chroma == nullptr) return;
    classifyRow(rgb, int64_t(count), classes, chroma);
}

extern "C" cvb_status cvb_lamp_propose(const cvb_view *frame, cvb_lamp_scratch *scratch, cvb_lamp_candidate *out,
                                       size_t capacity, size_t *count, cvb_frame_colour *colour, cvb_error *error) {
    if (!validView(frame)) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "lamp proposal: bad frame");
    if (scratch == nullptr || out == nullptr || count == nullptr) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "lamp proposal: no scratch, output or count");
    }
    if (capacity < CVB_LAMP_MAX_CANDIDATES) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "lamp proposal: output holds %zu candidates, needs %d",
                         capacity, CVB_LAMP_MAX_CANDIDATES);
    }
    return cvb::guarded(error, "lamp proposal", [&]() -> cvb_status {
        const int64_t W = frame->width, H = frame->height;
        scratch->fit(W, H);
        size_t blobCount = 0;
        scratch->massCount = 0;
        // A component that failed only for being more than half the frame: a lamp filling a
        // close-up, which no blob stands for, so the whole frame is read for it.
        bool frameFilling = false;
        // Step 9's largest chroma; a gray frame has no colour: every pixel has chroma 0, so only
        // the whole frame can come.
        int32_t chroma = 0;
        // Step 10's largest tile chroma: 0 for a gray frame too.
        int32_t largestTileChroma = 0;
        // The proposal image's box-average factor (contract step 1).
        const int64_t f = (std::max(W, H) + kProposalLongSide - 1) / kProposalLongSide;
        if (frame->channels == 3) {
            Plane first{frame->data, W, H, frame->stride};
            if (f > 1) {
                boxAverage(first, f, scratch->first.data(), scratch->columnSums.data());
                first = Plane{scratch->first.data(), W / f, H / f, size_t(W / f) * 3};
            }
            Plane second{scratch->second.data(), first.width / 2, first.height / 2, size_t(first.width / 2) * 3};
            if (first.width > 0 && first.height > 0) {
                findBlobs(first, 1, f, *scratch, blobCount, frameFilling, &chroma);
                findMasses(first.width, first.height, *scratch);
                if (colour != nullptr) largestTileChroma = tileChroma(first, scratch->tileImage.data(), scratch->columnSums.data());
            }
            if (std::min(second.width, second.height) >= 4) {
                boxAverage(first, 2, scratch->second.data(), scratch->columnSums.data());
                findBlobs(second, 2, 2 * f, *scratch, blobCount, frameFilling, nullptr);
            }
        }
        Blob *blobs = scratch->blobs.data();
        std::sort(blobs, blobs + blobCount, before);
        size_t kept = 0;
        for (size_t i = 0; i < blobCount && kept < kMaxBlobs; ++i) {
            bool suppressed = false;
            for (size_t j = 0; j < kept && !suppressed; ++j) suppressed = overlapsOverHalf(blobs[i].box, out[j]);
            if (!suppressed) out[kept++] = blobs[i].box;
        }
        // The whole frame is read for a big blob, not for a big figure: it is taught only where a
        // labelled lamp is that big (signal_data.label_real).
        bool wholeFrame = std::max(W, H) <= kWholeFrameMaxSide || frameFilling;
        for (size_t j = 0; j < kept && !wholeFrame; ++j) {
            const int64_t longer = std::max(out[j].x1 - out[j].x0, out[j].y1 - out[j].y0);
            wholeFrame = 8 * longer >= std::min(W, H);
        }
        kept = appendFigures(out, kept, W, H);
        kept = appendLampFigures(out, kept, *scratch, f);
        if (wholeFrame) out[kept++] = cvb_lamp_candidate{0, 0, int32_t(W), int32_t(H), 0, 0, -1, 1};
        *count = kept;
        if (colour != nullptr) *colour = cvb_frame_colour{chroma, largestTileChroma};
        return cvb::ok(error);
    });
}

extern "C" cvb_status cvb_lamp_crop_rect(const cvb_lamp_candidate *candidate, int32_t frame_width,
                                         int32_t frame_height, int32_t *x, int32_t *y, int32_t *width,
                                         int32_t *height, cvb_error *error) {
    if (candidate == nullptr || x == nullptr || y == nullptr || width == nullptr || height == nullptr) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "lamp crop: no candidate or output");
    }
    if (frame_width <= 0 || frame_height <= 0) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "lamp crop: frame %d×%d", frame_width, frame_height);
    }
    if (candidate->whole) {
        *x = 0, *y = 0, *width = frame_width, *height = frame_height;
        return cvb::ok(error);
    }
    const int64_t w = int64_t(candidate->x1) - candidate->x0, h = int64_t(candidate->y1) - candidate->y0;
    if (w <= 0 || h <= 0) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "lamp crop: empty box %lld×%lld", (long long)w, (long long)h);
    }
    const int64_t side = std::max(kCropContext * std::max(w, h), kCropMinSide);
    const int64_t left = floorDiv(int64_t(candidate->x0) + candidate->x1 - side, 2);
    const int64_t top = floorDiv(int64_t(candidate->y0) + candidate->y1 - side, 2);
    if (side > INT32_MAX || left < INT32_MIN || top < INT32_MIN) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "lamp crop: box too large");
    }
    *x = int32_t(left), *y = int32_t(top), *width = int32_t(side), *height = int32_t(side);
    return cvb::ok(error);
}

extern "C" cvb_status cvb_lamp_sample(const cvb_view *frame, int32_t x, int32_t y, int32_t width, int32_t height,
                                      int32_t size, const float *mean, const float *std, float *out,
                                      size_t out_count, cvb_error *error) {
    if (!validView(frame)) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "lamp crop: bad frame");
    if (width <= 0 || height <= 0 || size <= 0) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "lamp crop: rectangle %d×%d to %d×%d", width, height,
                         size, size);
    }
    if (mean == nullptr || std == nullptr || out == nullptr) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "lamp crop: no statistics or output");
    }
    const int channels = frame->channels;
    const size_t plane = size_t(size) * size_t(size);
    if (out_count < plane * size_t(channels)) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "lamp crop: output holds %zu floats, needs %zu", out_count,
                         plane * size_t(channels));
    }
    for (int c = 0; c < channels; ++c) {
        if (!(std[c] > 0.0f)) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "lamp crop: std[%d] is not positive", c);
    }
    const int64_t W = frame->width, H = frame->height;
    // A shrinking crop's blocks tile its columns (each at least one pixel, none shared), so a
    // whole output row's sums come from one pass over its band of rows.
    // (Column sums are 16-bit for a band of at most kNarrowBandRows rows, else 32-bit: a band is
    // at most UINT32_MAX / 255 rows tall, over 16 million.)
    const bool banded = width >= size && size <= kMaxBandedSize && int64_t(height) / size < int64_t(UINT32_MAX / 255);
    int64_t bandSums[kMaxBandedSize * 3];
    for (int64_t i = 0; i < size; ++i) {
        // Output row i covers source rows [ys, ye) (at least one); rows outside the frame are black.
        const int64_t ys = y + i * height / size;
        const int64_t ye = std::max(int64_t(y) + (i + 1) * height / size, ys + 1);
        const int64_t rowFrom = std::max(ys, int64_t(0)), rowTo = std::min(ye, H);
        if (banded) {
            std::fill(bandSums, bandSums + size * channels, int64_t(0));
            if (channels == 3) {
                sampleRowBand<3>(*frame, rowFrom, rowTo, x, width, size, bandSums);
            } else {
                sampleRowBand<1>(*frame, rowFrom, rowTo, x, width, size, bandSums);
            }
        }
        // The row's blocks a chunk at a time: their sums and pixel counts, then the division.
        for (int64_t chunk = 0; chunk < size; chunk += kMaxBandedSize) {
            const int64_t n = std::min(kMaxBandedSize, size - chunk);
            float counts[kMaxBandedSize], values[3][kMaxBandedSize];
            for (int64_t k = 0; k < n; ++k) {
                const int64_t j = chunk + k;
                const int64_t xs = x + j * width / size;
                const int64_t xe = std::max(int64_t(x) + (j + 1) * width / size, xs + 1);
                int64_t sums[3] = {0, 0, 0};
                if (banded) {
                    for (int c = 0; c < channels; ++c) sums[c] = bandSums[j * channels + c];
                } else {
                    const int64_t colFrom = std::max(xs, int64_t(0)), colTo = std::min(xe, W);
                    if (channels == 3) {
                        sumBlock<3>(*frame, rowFrom, rowTo, colFrom, colTo, sums);
                    } else {
                        sumBlock<1>(*frame, rowFrom, rowTo, colFrom, colTo, sums);
                    }
                }
                counts[k] = static_cast<float>((ye - ys) * (xe - xs));
                for (int c = 0; c < channels; ++c) values[c][k] = static_cast<float>(sums[c]);
            }
            for (int c = 0; c < channels; ++c) {
                normaliseBlocks(values[c], counts, n, mean[c], std[c],
                                out + size_t(c) * plane + size_t(i) * size_t(size) + size_t(chunk));
            }
        }
    }
    return cvb::ok(error);
}

extern "C" cvb_lamp_contract cvb_lamp_contract_constants(void) {
    cvb_lamp_contract c;
    c.long_side = static_cast<int32_t>(kProposalLongSide);
    c.min_brightness = kMinBrightness;
    c.min_saturation_pct = kMinSaturationPct;
    c.min_lit = static_cast<int32_t>(kMinLit);
    c.min_fill_pct = static_cast<int32_t>(kMinFillPct);
    c.max_blobs = static_cast<int32_t>(kMaxBlobs);
    c.figure_from = static_cast<int32_t>(kFigureFrom);
    c.figure_growth = static_cast<int32_t>(kFigureGrowth);
    c.whole_frame_max_side = static_cast<int32_t>(kWholeFrameMaxSide);
    c.whole_frame_filling = kWholeFrameFilling;
    c.cluster_cell_pct = static_cast<int32_t>(kClusterCellPct);
    c.cluster_min_pct = static_cast<int32_t>(kClusterMinPct);
    c.cluster_max_pct = static_cast<int32_t>(kClusterMaxPct);
    c.cluster_max = static_cast<int32_t>(kClusterMax);
    c.cluster_side_sixteenths = static_cast<int32_t>(kClusterSideSixteenths);
    c.crop_size = static_cast<int32_t>(kCropSize);
    c.crop_context = static_cast<int32_t>(kCropContext);
    c.crop_min_side = static_cast<int32_t>(kCropMinSide);
    c.colourless_chroma = kColourlessChroma;
    c.noise_tile = static_cast<int32_t>(kNoiseTile);
    c.noise_chroma = kNoiseChroma;
    return c;
}
