#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS (fuzz/README.md): scripts/fuzz.sh TARGET SECONDS [libFuzzer flags]
# The committed seeds in fuzz/corpus/ are read, never written; what the run learns goes to
# .build-fuzz/corpus/TARGET, findings to .build-fuzz/artifacts/TARGET/, the log to
# .build-fuzz/logs/TARGET.log. Exit status: 0 when the run ended with no finding.
# Runs at the lowest priority (nice 19): the fuzzers share the machine with builds and training.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer flags]" >&2; exit 64; }
TARGET=$1 SECONDS_TO_RUN=$2
shift 2
OUT=${FUZZ_BUILD:-.build-fuzz}
case $TARGET in
    cvbridge_*) SEEDS=fuzz/corpus/cvbridge MAXLEN=65536 ;;
    swift_config) SEEDS=fuzz/corpus/config MAXLEN=16384 ;;
    swift_tokenizer) SEEDS=fuzz/corpus/tokenizer MAXLEN=16384 ;;
    swift_safetensors) SEEDS=fuzz/corpus/safetensors MAXLEN=16384 ;;
    swift_strictjson) SEEDS="fuzz/corpus/config fuzz/corpus/tokenizer" MAXLEN=16384 ;;
    swift_yaml) SEEDS=fuzz/corpus/yaml MAXLEN=8192 ;;
    *) echo "unknown target $TARGET" >&2; exit 64 ;;
esac
if [ ! -x "$OUT/$TARGET" ] || [ -n "${FUZZ_REBUILD:-}" ]; then nice -n 19 scripts/fuzz_build.sh "$TARGET"; fi
mkdir -p "$OUT/corpus/$TARGET" "$OUT/artifacts/$TARGET" "$OUT/logs"
DICT=()
case $TARGET in swift_config|swift_tokenizer|swift_strictjson|swift_safetensors) DICT=(-dict=fuzz/json.dict) ;; esac
# -timeout: one input that takes 10 s is a finding (a hang); -rss_limit_mb: so is 2 GB of memory.
# shellcheck disable=SC2086
nice -n 19 "$OUT/$TARGET" -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 -max_len=$MAXLEN \
    -print_final_stats=1 "${DICT[@]}" -artifact_prefix="$OUT/artifacts/$TARGET/" "$@" "$OUT/corpus/$TARGET" $SEEDS \
    2>&1 | tee "$OUT/logs/$TARGET.log" | grep -E "^#[0-9]+ +(INITED|DONE)|ERROR|SUMMARY|stat::|Test unit written" || true
test -z "$(ls -A "$OUT/artifacts/$TARGET")"
