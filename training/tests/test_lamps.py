import cv2
import numpy as np

from lttw import lamps
from lttw.generator import generate
from lttw.preprocess import MEAN, STD


def dark(W, H):
    return np.full((H, W, 3), (15, 15, 20), np.uint8)


def test_red_disc_is_found_where_it_is():
    rgb = dark(640, 480)
    cv2.circle(rgb, (500, 150), 12, (255, 30, 20), -1)
    cands = lamps.propose(rgb)
    assert cands, "no candidate for a lit red disc"
    top = cands[0]
    assert lamps.COLOURS[top.colour] == "red" and not top.whole and top.scale == 1
    # The dilated extent: the disc (488..512) and one pixel of dilation each side.
    assert (top.x0, top.y0, top.x1, top.y1) == (487, 137, 514, 164)
    assert top.score == 235 * 256  # every lit pixel has chroma 255 - 20
    assert lamps.position_of(top, 640) == "right"
    # The same disc found again at the second scale overlaps it by more than half: suppressed.
    # A red blob gives no figure.
    assert [k for k in cands if not k.whole] == [top]
    # 27 px is under 1/8 of 480: no whole-frame candidate for a 640 px frame.
    assert not any(k.whole for k in cands)


def test_colour_classes_and_thresholds():
    pixels = np.array([[
        (255, 0, 0), (255, 180, 0), (0, 255, 0), (0, 200, 200), (200, 0, 200),
        (99, 0, 0), (100, 0, 0), (255, 170, 170), (255, 165, 165), (0, 0, 255),
    ]], np.uint8)
    cls, chroma = lamps.colour_classes(pixels)
    # red, amber, green, teal (g before b) is green, magenta none, 99 too dark, 100 lit,
    # 33 % saturation unlit, 35 % lit, blue none.
    assert cls[0].tolist() == [1, 2, 3, 3, 0, 0, 1, 0, 1, 0]
    assert chroma[0, :3].tolist() == [255, 255, 255]


def test_uniform_gray_frame_has_no_blob():
    assert lamps.propose(np.full((300, 400, 3), 128, np.uint8)) == []
    # At most 320 px a side the whole frame is still a candidate (a close-up), but nothing else.
    assert [k.as_list() for k in lamps.propose(np.full((150, 200, 3), 255, np.uint8))] == [[0, 0, 200, 150, 0, -1, 0, 1]]


def test_frame_chroma_and_colourless_frames():
    grey = np.full((300, 400, 3), 128, np.uint8)
    assert lamps.frame_chroma(grey) == 0 and lamps.colourless(grey)
    # One pixel just past the bound shows colour; at the bound it does not.
    tinted = grey.copy()
    tinted[299, 399] = (128, 128 + lamps.COLOURLESS_CHROMA, 128)
    assert lamps.frame_chroma(tinted) == lamps.COLOURLESS_CHROMA and lamps.colourless(tinted)
    tinted[299, 399] = (128, 129 + lamps.COLOURLESS_CHROMA, 128)
    assert not lamps.colourless(tinted)
    # Measured on the proposal image: a 1280 px frame is averaged 2×2 first, so a lone tinted
    # pixel is diluted and one a 2×2 block wide is not.
    big = np.full((720, 1280, 3), 90, np.uint8)
    big[10, 11] = (90, 130, 90)
    assert lamps.frame_chroma(big) == 10
    big[10:12, 10:12] = (90, 130, 90)
    assert lamps.frame_chroma(big) == 40


def test_tile_chroma_tells_colour_noise_from_colour():
    # A grey frame with a grey or infrared camera's per-channel noise passes step 9 by far, but its
    # tile means do not: the noise cancels there.
    rng = np.random.default_rng(3)
    grey = np.full((240, 320, 3), 120, np.float32)
    noisy = np.clip(grey + rng.normal(0, 18, grey.shape), 0, 255).astype(np.uint8)
    assert not lamps.colourless(noisy) and lamps.frame_chroma(noisy) > 60
    assert lamps.tile_chroma(noisy) <= lamps.NOISE_CHROMA and lamps.colour_is_noise(noisy)
    # One whole tile tinted evenly: its mean's chroma is the tint, at the bound and just past it.
    tinted = np.full((240, 320, 3), 120, np.uint8)
    tinted[224:240, 304:320, 2] += lamps.NOISE_CHROMA
    assert lamps.tile_chroma(tinted) == lamps.NOISE_CHROMA and lamps.colour_is_noise(tinted)
    tinted[224:240, 304:320, 2] += 1
    assert not lamps.colour_is_noise(tinted)
    # Past the last whole tile nothing is read: a coloured last column and rows change nothing.
    edge = np.full((250, 337, 3), 120, np.uint8)
    edge[:, 336] = (250, 40, 30)
    edge[240:] = (40, 60, 240)
    assert lamps.tile_chroma(edge) == 0 and not lamps.colourless(edge)
    # A frame smaller than a tile is one tile of its shorter side; a street's colour fills tiles.
    small = np.full((10, 30, 3), (90, 120, 200), np.uint8)
    assert lamps.tile_chroma(small) == 110
    assert not lamps.colour_is_noise(np.ascontiguousarray(generate(10).bgr[..., ::-1]))


def test_whole_frame_when_a_blob_is_large():
    rgb = dark(640, 480)
    rgb[100:160, 100:160] = (240, 30, 30)
    cands = lamps.propose(rgb)
    assert [(k.colour, k.whole) for k in cands] == [(1, False), (0, True)]
    assert cands[-1].as_list() == [0, 0, 640, 480, 0, -1, 0, 1]
    assert lamps.crop_rect(cands[-1], 640, 480) == (0, 0, 640, 480)
    assert lamps.position_of(cands[-1], 640) == "ahead"


def test_whole_frame_for_a_lamp_filling_the_frame():
    # A 300 px green square is more than half of 480 at both scales: no blob of it is kept, so the
    # whole frame is read for it (after its lamp figure: 300 px is under 3/4 of 480, so the green
    # mass is framed too). A bar as long fails on its shape and brings nothing.
    rgb = dark(640, 480)
    rgb[90:390, 170:470] = (30, 240, 30)
    side = 5 * 300 // 16
    lamp = [(170 + 470 - side) // 2, (90 + 390 - side) // 2]
    assert [k.as_list() for k in lamps.propose(rgb)] == [lamp + [lamp[0] + side, lamp[1] + side, 3, 210 * 256, 3, 0],
                                                         [0, 0, 640, 480, 0, -1, 0, 1]]
    rgb = dark(640, 480)
    rgb[200:220, 20:620] = (30, 240, 30)
    assert lamps.propose(rgb) == []
    # A 300 px outline one pixel wide fills under 12 % of its box: refused as a blob for its fill,
    # not its size, so no whole frame; its green mass still gives the lamp figure.
    rgb = dark(640, 480)
    rgb[90, 170:470] = rgb[389, 170:470] = rgb[90:390, 170] = rgb[90:390, 469] = (30, 240, 30)
    assert [k.as_list()[:4] for k in lamps.propose(rgb)] == [lamp + [lamp[0] + side, lamp[1] + side]]


def test_figures_of_the_first_green_blobs():
    rgb = dark(640, 480)
    rgb[200:210, 0:10] = (20, 240, 20)      # green at the left edge: box 0..11 (dilation clipped)
    rgb[100:120, 300:320] = (250, 170, 0)   # amber: no figure
    rgb[300:316, 500:516] = (240, 20, 20)   # red: no figure
    rgb[50:62, 400:412] = (30, 220, 120)    # green
    cands = lamps.propose(rgb)
    blobs = [k for k in cands if k.scale in (1, 2)]
    figs = [k for k in cands if k.scale == 3]
    assert cands[:len(blobs)] == blobs, "figures follow the blobs"
    assert len(figs) == 2 and all(f.colour == 3 for f in figs)
    assert [cands[n] for n in lamps.figure_indices(cands)] == figs and all(f.is_figure for f in figs)
    assert not any(k.is_figure for k in blobs)
    greens = [k for k in blobs if k.colour == 3]
    assert [f.score for f in figs] == [b.score for b in greens], "in the blobs' order"
    for f, b in zip(figs, greens):
        assert f.w == f.h == 2 * b.side and f.side == b.side, "a figure's lamp is its blob's size"
        assert abs((f.x0 + f.x1) - (b.x0 + b.x1)) <= 1 and abs((f.y0 + f.y1) - (b.y0 + b.y1)) <= 1
    assert min(f.x0 for f in figs) < 0, "a figure may leave the frame"
    # A 42 px blob's 84 px figure does not bring the whole frame (only a blob 1/8 of 480 does);
    # the 40 px green mass (at least 8 % of 480) gives its lamp figure after it.
    rgb = dark(640, 480)
    rgb[100:140, 100:140] = (30, 240, 30)
    assert [(k.scale, k.whole, k.w) for k in lamps.propose(rgb)] == [(1, False, 42), (3, False, 84), (3, False, 12)]


def test_lamp_figure_frames_the_green_mass():
    # An LED walk figure: green dots 6 px apart (no blob spans them; the cells of 3 % of 480 =
    # 14 px gather them) forming a 60×100 px figure, and a green square far away, less saturated.
    rgb = dark(640, 480)
    for y in range(100, 200, 6):
        for x in range(300, 360, 6):
            rgb[y:y + 2, x:x + 2] = (20, 250, 200)
    rgb[400:450, 50:100] = (60, 160, 90)
    figs = [k for k in lamps.propose(rgb) if k.is_figure]
    lamp = [k for k in figs if k.w == 5 * 98 // 16]
    assert len(lamp) == 1, "one lamp figure, for the most saturated mass (the dots, not the square)"
    k = lamp[0]
    # The dots span x 300..355 and y 100..197 (exclusive ends 356, 198): L = 98, side 30.
    assert (k.x0, k.y0) == ((300 + 356 - 30) // 2, (100 + 198 - 30) // 2) and k.colour == 3
    assert lamps.crop_rect(k, 640, 480)[2] == 4 * 30, "the crop frames the mass at 5/4 of its size"
    assert k.side == 15, "a figure's lamp side for the red veto: half its box"
    masses = lamps.green_masses(rgb)
    assert [m[0] for m in masses] == [17 * 10 * 4, 50 * 50] and masses[0][1:5] == (300, 100, 356, 198)


def test_lamp_figure_size_bounds():
    # A green mass under 8 % or over 75 % of the shorter side, or longer than 4:1, gives none.
    for box in [(100, 100, 130, 130), (10, 60, 410, 460), (100, 100, 300, 140)]:
        rgb = dark(640, 480)
        x0, y0, x1, y1 = box
        rgb[y0:y1, x0:x1:3] = (20, 240, 20)
        assert lamps.green_masses(rgb) == [], box
    # A mass whose crop the reader would enlarge gives none: 20 px in a 300×240 frame is 8 % of
    # 240, but its square (5·20//16 = 6 px) crops 24 px, under the reader's 32.
    rgb = dark(300, 240)
    rgb[100:120, 100:120:2] = (20, 240, 20)
    assert len(lamps.green_masses(rgb)) == 1
    assert [k.w for k in lamps.propose(rgb) if k.is_figure] == [44], "the blob's figure only"
    rgb = dark(300, 240)
    rgb[100:126, 100:126:2] = (20, 240, 20)  # 26 px: an 8 px square, a 32 px crop
    assert [k.w for k in lamps.propose(rgb) if k.is_figure] == [56, 5 * 26 // 16]
    # Larger frames are gathered on the proposal image: boxes scale back by f.
    rgb = dark(1920, 1080)  # f = 3
    for y in range(300, 600, 12):
        rgb[y:y + 6, 900:1200] = (20, 240, 20)
    k = [k for k in lamps.propose(rgb) if k.is_figure and k.w == 5 * 300 // 16]
    # The stripes span x 900..1200 and y 300..594 (proposal pixels 300..400 and 100..198, times 3).
    assert len(k) == 1 and (k[0].x0, k[0].y0) == ((900 + 1200 - 93) // 2, (300 + 594 - 93) // 2)


def test_at_most_twelve_blobs_best_first():
    rgb = dark(600, 400)
    for i in range(5):
        for j in range(6):
            value = 120 + 4 * (i * 6 + j)  # every disc a different brightness, so a different chroma
            cv2.circle(rgb, (50 + 100 * j, 40 + 80 * i), 6, (value, 10, 10), -1)
    cands = lamps.propose(rgb)
    assert len(cands) == lamps.MAX_BLOBS, "red blobs give no figures"
    assert [k.score for k in cands] == sorted((k.score for k in cands), reverse=True)
    # The brightest discs are the last rows: the kept ones are there.
    assert min(k.y0 for k in cands) >= 40 + 80 * 2 - 8
    # Green discs: twelve blobs, then the figures of the first four, in their order.
    cands = lamps.propose(np.ascontiguousarray(rgb[..., [1, 0, 2]]))
    blobs, figs = cands[:lamps.MAX_BLOBS], cands[lamps.MAX_BLOBS:]
    assert len(blobs) == lamps.MAX_BLOBS and len(figs) == lamps.FIGURE_FROM
    assert all(k.colour == 3 and k.scale in (1, 2) for k in blobs)
    assert [k.score for k in figs] == [k.score for k in blobs[:lamps.FIGURE_FROM]] and all(k.scale == 3 for k in figs)


def test_large_frames_are_searched_downscaled():
    rgb = dark(2000, 1500)  # f = ceil(2000 / 640) = 4
    cv2.circle(rgb, (1000, 700), 30, (30, 230, 100), -1)
    cands = lamps.propose(rgb)
    top = cands[0]
    assert lamps.COLOURS[top.colour] == "green"
    assert top.x0 % 4 == 0 and top.x1 % 4 == 0 and top.y0 % 4 == 0 and top.y1 % 4 == 0
    assert top.x0 <= 970 and top.x1 >= 1030 and top.y0 <= 670 and top.y1 >= 730
    assert top.x1 - top.x0 <= 60 + 4 * 4


def test_box_average_rounds_half_up():
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[0, 0:2, 0] = 1  # sum 2 over 4: (2 + 2) // 4 = 1
    rgb[0, 2, 0] = 1  # sum 1: (1 + 2) // 4 = 0
    small = lamps.box_average(rgb, 2)
    assert small.shape == (2, 3, 3) and small[0, :2, 0].tolist() == [1, 0]


def test_crop_rect_is_centred_and_floor_divided():
    k = lamps.Candidate(0, 0, 3, 5, 1, 100, 1)
    assert lamps.crop_rect(k, 100, 100) == (-9, -8, 20, 20)  # (3 - 20) // 2 == -9
    k = lamps.Candidate(95, 90, 100, 100, 3, 100, 2)
    assert lamps.crop_rect(k, 100, 100) == (77, 75, 40, 40)


def test_crop_of_a_uniform_image_is_that_colour_normalised():
    rgb = np.empty((40, 50, 3), np.uint8)
    rgb[:] = (200, 100, 50)
    crop = lamps.normalise_crop(lamps.sample_rect(rgb, (5, 5, 30, 20), 8), MEAN, STD)
    assert crop.shape == (3, 8, 8) and crop.dtype == np.float32
    expected = (np.array([200, 100, 50], np.float32) / np.float32(255) - MEAN) / STD
    assert np.array_equal(crop, np.broadcast_to(expected[:, None, None], crop.shape))


def test_sample_rect_outside_the_frame_is_black():
    rgb = np.full((10, 10, 3), 255, np.uint8)
    assert not lamps.sample_rect(rgb, (-40, 20, 16, 16), 4).any()
    half = lamps.sample_rect(rgb, (-10, 0, 20, 10), 2)  # left half outside, right half inside
    assert half[:, 0].max() == 0 and (half[:, 1] == 255).all()
    # A rectangle smaller than the output repeats source rows and columns.
    one = lamps.sample_rect(np.arange(12, dtype=np.uint8).reshape(2, 2, 3), (0, 0, 2, 2), 4)
    assert one.shape == (4, 4, 3) and one[0, 0].tolist() == [0, 1, 2] and one[3, 3].tolist() == [9, 10, 11]


def test_sample_rect_is_the_mean_of_each_cell_over_the_frame_padded_black():
    # The definition, written directly: each output cell is the mean of its source cell (rows
    # y0 + i·h//S to y0 + (i+1)·h//S, at least one), pixels outside the frame black. Rectangles
    # inside, across the edges and wholly outside, bigger and smaller than the output.
    rng = np.random.default_rng(11)
    for _ in range(300):
        H, W = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
        x0, y0 = int(rng.integers(-50, 50)), int(rng.integers(-50, 50))
        w, h, S = int(rng.integers(1, 80)), int(rng.integers(1, 80)), int(rng.choice([2, 4, 8]))
        pad = 200
        padded = np.zeros((H + 2 * pad, W + 2 * pad, 3), np.int64)
        padded[pad:pad + H, pad:pad + W] = rgb
        want = np.empty((S, S, 3), np.float32)
        for i in range(S):
            r0, r1 = y0 + i * h // S, max(y0 + (i + 1) * h // S, y0 + i * h // S + 1)
            for j in range(S):
                c0, c1 = x0 + j * w // S, max(x0 + (j + 1) * w // S, x0 + j * w // S + 1)
                cell = padded[pad + r0:pad + r1, pad + c0:pad + c1]
                want[i, j] = cell.sum((0, 1)).astype(np.float32) / np.float32(cell.shape[0] * cell.shape[1])
        assert np.array_equal(lamps.sample_rect(rgb, (x0, y0, w, h), S), want), (H, W, x0, y0, w, h, S)
