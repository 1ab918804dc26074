"""Write samples/: generated scene images covering the main cases, with samples/expected.jsonl.

  python -m lttw.samples --out samples            (from the repo root, PYTHONPATH=training)

Scenes are searched deterministically from seed 3_000_000 upward and rendered with long_side=640
(so their content differs from generate(seed) at the default size; regenerate with
generate(seed, long_side=640)). Each line of expected.jsonl is a labelled-scenes record plus
"seed", "long_side", "case", "facts" and "captions".
"""
import argparse
import json
import os

import cv2

from .generator import generate

CASES = [
    ("pedestrian_red_street", lambda f: f["light"]["state"] == "red" and f["light"]["kind"] == "pedestrian" and f["conditions"]["framing"] == "street"),
    ("pedestrian_green_street", lambda f: f["light"]["state"] == "green" and f["light"]["kind"] == "pedestrian" and f["conditions"]["framing"] == "street"),
    ("pedestrian_red_closeup", lambda f: f["light"]["state"] == "red" and f["light"]["kind"] == "pedestrian" and f["conditions"]["framing"] == "closeup"),
    ("pedestrian_green_closeup", lambda f: f["light"]["state"] == "green" and f["light"]["kind"] == "pedestrian" and f["conditions"]["framing"] == "closeup"),
    ("pedestrian_signal_dark", lambda f: f["light"]["state"] == "off" and f["light"]["kind"] == "pedestrian"),
    ("vehicle_red", lambda f: f["light"]["state"] == "red" and f["light"]["kind"] == "vehicle" and f["conditions"]["framing"] != "tiny"),
    ("vehicle_yellow", lambda f: f["light"]["state"] == "yellow"),
    ("green_tiny_crop", lambda f: f["light"]["state"] == "green" and f["conditions"]["framing"] == "tiny"),
    ("no_light_crosswalk_left", lambda f: f["light"]["state"] == "none" and f["crosswalk"]["offset"] == "left"),
    ("no_light_crosswalk_ahead", lambda f: f["light"]["state"] == "none" and f["crosswalk"]["offset"] == "ahead"),
    ("crosswalk_right_with_light", lambda f: f["light"]["state"] in ("red", "green") and f["crosswalk"]["offset"] == "right"),
    ("obstacles_several", lambda f: len(f["obstacles"]) >= 2 and f["light"]["state"] == "none"),
    ("obstacle_near_ahead", lambda f: any(o["position"] == "ahead" and o["distance"] == "near" for o in f["obstacles"])),
    ("night_signal", lambda f: f["conditions"]["time_of_day"] == "night" and f["light"]["state"] in ("red", "green") and f["conditions"]["framing"] == "street"),
    ("ground_crosswalk", lambda f: f["conditions"]["framing"] == "ground" and f["crosswalk"]["present"]),
    ("nothing_in_view", lambda f: f["light"]["state"] == "none" and not f["crosswalk"]["present"] and not f["obstacles"]),
]
EASY = ("grayscale", "pixelated", "salt_pepper", "fog")


def find_cases(start=3_000_000, long_side=640, limit=20000):
    found = {}
    for s in range(start, start + limit):
        sc = generate(s, long_side=long_side)
        f = sc.facts
        if any(f["conditions"].get(k) for k in EASY):
            continue
        for name, pred in CASES:
            if name not in found and pred(f):
                found[name] = sc
                break
        if len(found) == len(CASES):
            break
    return [(n, found[n]) for n, _ in CASES if n in found]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="samples")
    a = ap.parse_args()
    os.makedirs(os.path.join(a.out, "images"), exist_ok=True)
    with open(os.path.join(a.out, "expected.jsonl"), "w", encoding="utf-8") as f:
        for i, (name, sc) in enumerate(find_cases()):
            rel = f"images/{i:02d}_{name}.jpg"
            cv2.imwrite(os.path.join(a.out, rel), sc.bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
            rec = sc.labelled_record(rel)
            rec.update({"case": name, "long_side": 640})
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            print(rel, "|", sc.captions["en"])


if __name__ == "__main__":
    main()
