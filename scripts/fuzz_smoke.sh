#!/usr/bin/env bash
# CI smoke of every libFuzzer target: builds them and runs each for FUZZ_SMOKE_SECONDS (60) from
# the committed seeds. Exits non-zero when a target fails to build or finds a crash, a leak, a
# timeout (10 s for one input) or an out-of-memory (2 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SMOKE_SECONDS:-60}
TARGETS=(cvbridge_probe cvbridge_decode cvbridge_lamps swift_config swift_tokenizer swift_safetensors swift_strictjson swift_yaml)
scripts/fuzz_build.sh "${TARGETS[@]}"
failed=()
for target in "${TARGETS[@]}"; do
    echo "== $target, ${SECONDS_EACH}s"
    if ! scripts/fuzz.sh "$target" "$SECONDS_EACH" -close_fd_mask=2; then failed+=("$target"); fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz smoke: findings in ${failed[*]} (see .build-fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz smoke: ${#TARGETS[@]} targets, no findings"
