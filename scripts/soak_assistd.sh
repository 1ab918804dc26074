#!/usr/bin/env bash
# Soak test for assistd (not a CI test): runs the release daemon on a looping video for a while
# and reports memory at start and end, the analysis rate and per-stage latency percentiles.
#
#   scripts/soak_assistd.sh [SECONDS] [RATE]      defaults: 600 s at 5 frames/s
#
# The video is made from samples/ (red, green, obstacle and night scenes, 20 s at 10 fps).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
rate=${2:-5}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

swift build -c release --product assistd >/dev/null
swift build -c release --product CVMedia >/dev/null  # the video is read through the media plugin
.venv/bin/python - "$work/walk.avi" <<'PY'
import sys, cv2
names = ["00_pedestrian_red_street", "01_pedestrian_green_street", "12_obstacle_near_ahead",
         "10_crosswalk_right_with_light", "13_night_signal"]
frames = [cv2.imread(f"samples/images/{n}.jpg") for n in names]
h, w = frames[0].shape[:2]
out = cv2.VideoWriter(sys.argv[1], cv2.VideoWriter_fourcc(*"MJPG"), 10, (w, h))
for f in frames:
    f = cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA)
    for _ in range(40):
        out.write(f)
out.release()
PY

.build/release/assistd --source "$work/walk.avi" --loop --rate "$rate" --speech none --http 127.0.0.1:0 \
    --socket "$work/api.sock" --token-file "$work/api.token" 2>"$work/assistd.log" &
pid=$!
port=""
for _ in $(seq 100); do
    port=$(grep -o 'api listening address=127.0.0.1:[0-9]*' "$work/assistd.log" | head -1 | sed 's/.*://') || true
    [ -n "$port" ] && break
    sleep 0.2
done
[ -n "$port" ] || { cat "$work/assistd.log"; echo "assistd did not start" >&2; exit 1; }

rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
sleep 10
rss_start=$(rss)
echo "soak: ${seconds} s at ${rate} fps, API on port $port; RSS after 10 s: ${rss_start} kB"
elapsed=10
while [ "$elapsed" -lt "$seconds" ]; do
    sleep 30
    elapsed=$((elapsed + 30))
    echo "  ${elapsed} s: RSS $(rss) kB"
done
rss_end=$(rss)
status=$(.venv/bin/python -c "import urllib.request; print(urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:$port/status', headers={'Authorization': 'Bearer ' + open('$work/api.token').read().strip()})).read().decode())")
kill -TERM "$pid"
start=$EPOCHREALTIME
wait "$pid"; code=$?
stop=$(awk "BEGIN { printf \"%.3f\", $EPOCHREALTIME - $start }")
echo "$status" | .venv/bin/python -c "
import json, sys
s = json.load(sys.stdin)
print(f'RSS start {$rss_start} kB, end {$rss_end} kB (growth {$rss_end - $rss_start} kB)')
print(f\"frames analysed {s['frames_analysed']}, captured {s['frames_captured']}, dropped {s['frames_dropped']}; fps (last 5 s) {s['fps']}\")
print('latency ms (last 512 frames):')
for stage, q in s['latency_ms'].items():
    print(f'  {stage:10s} p50 {q[\"p50\"]:7.2f}  p95 {q[\"p95\"]:7.2f}  p99 {q[\"p99\"]:7.2f}')
print(f\"camera {s['camera']['state']}, losses {s['camera']['losses']}\")
"
echo "SIGTERM: exit $code after ${stop} s"
