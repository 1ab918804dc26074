#!/usr/bin/env bash
# Runs the whole test suite: Swift (Swift Testing) and Python (pytest).
# Installs what is missing first (scripts/setup.sh), so it works on a fresh machine and in CI.
# Every suite runs even if an earlier one failed; the exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh --no-build || exit 1

failed=()

# The allocation test (Tests/CLITests/BenchTests) runs the release `listen`: counts from a
# debug build mean nothing. libCVMedia.so (OpenCV's codecs and video I/O, loaded by listen from its
# own folder on first use) is a product of its own, which a --product build does not make.
printf '\n== Release build\n'
swift build -c release --product listen && swift build -c release --product AllocationCounter &&
    swift build -c release --product CVMedia || failed+=("release build")

printf '\n== Swift tests\n'
swift test || failed+=("swift")

printf '\n== C kernels: NEON under qemu, and natively\n'
./scripts/test_neon.sh || failed+=("C kernels")

if [ -d training/tests ]; then
    printf '\n== Python tests\n'
    .venv/bin/python -m pytest training/tests -q || failed+=("python")
fi

printf '\n== Fuzz smoke (every libFuzzer target, 60 s each)\n'
./scripts/fuzz_smoke.sh || failed+=("fuzz smoke")

if [ ${#failed[@]} -gt 0 ]; then
    printf '\nFAILED: %s\n' "${failed[*]}"
    exit 1
fi
printf '\nAll test suites passed.\n'
