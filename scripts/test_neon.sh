#!/usr/bin/env bash
# Builds the C matrix kernels (Sources/CKernels) for AArch64 with Debian's cross compiler and runs
# their reference test (Tests/CKernelsC) under qemu: the NEON and portable kernels against a naive
# double-precision product, every operand layout, odd shapes, one row, k = 1, large k, alpha,
# beta, bias and GELU. Also runs the same test natively, for the kernels this machine has.
# Needs gcc-aarch64-linux-gnu and qemu-user-static (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

sources=(Sources/CKernels/*.c Tests/CKernelsC/gemm_reference_test.c)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for tool in aarch64-linux-gnu-gcc qemu-aarch64-static; do
    command -v "$tool" >/dev/null 2>&1 || { echo "test_neon: $tool not found; run scripts/setup.sh" >&2; exit 1; }
done

printf '== C kernels, AArch64 (NEON) under qemu\n'
aarch64-linux-gnu-gcc -std=c11 -O2 -Wall -Wextra -Werror -static -ISources/CKernels/include "${sources[@]}" -lm -o "$out/gemm_test_aarch64"
qemu-aarch64-static "$out/gemm_test_aarch64"

printf '\n== C kernels, this machine\n'
cc=$(command -v clang || command -v gcc)
"$cc" -std=c11 -O2 -Wall -Wextra -Werror -ISources/CKernels/include "${sources[@]}" -lm -o "$out/gemm_test_native"
"$out/gemm_test_native"
