#!/usr/bin/env bash
# Builds the C matrix kernels (Sources/CKernels) for AArch64 with Debian's cross compiler and runs
# their reference test (Tests/CKernelsC) under qemu: the NEON and portable kernels against a naive
# double-precision product, every operand layout, odd shapes, one row, k = 1, large k, alpha,
# beta, bias and GELU. Also runs the same test natively, for the kernels this machine has.
# Then the lamp proposer and crops (Sources/CVBridge/Lamps.cpp, whose colour classes run in
# 16-bit vector lanes: NEON on the wearable), built by clang as SwiftPM builds it, for AArch64 and
# natively: Tests/CVBridgeC/lamp_arch_test.cpp checks every colour against the contract and
# prints each seeded frame's candidates, largest chroma and crop digest; the two outputs must be
# equal (the native build is the one the Swift tests hold to lamps.py).
# Needs gcc-aarch64-linux-gnu, g++-aarch64-linux-gnu and qemu-user-static (scripts/setup.sh
# installs them) and clang++ (the Swift toolchain's).
set -euo pipefail
cd "$(dirname "$0")/.."

sources=(Sources/CKernels/*.c Tests/CKernelsC/gemm_reference_test.c)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for tool in aarch64-linux-gnu-gcc aarch64-linux-gnu-g++ qemu-aarch64-static clang++; do
    command -v "$tool" >/dev/null 2>&1 || { echo "test_neon: $tool not found; run scripts/setup.sh" >&2; exit 1; }
done

printf '== C kernels, AArch64 (NEON) under qemu\n'
aarch64-linux-gnu-gcc -std=c11 -O2 -Wall -Wextra -Werror -static -ISources/CKernels/include "${sources[@]}" -lm -o "$out/gemm_test_aarch64"
qemu-aarch64-static "$out/gemm_test_aarch64"

printf '\n== C kernels, this machine\n'
cc=$(command -v clang || command -v gcc)
"$cc" -std=c11 -O2 -Wall -Wextra -Werror -ISources/CKernels/include "${sources[@]}" -lm -o "$out/gemm_test_native"
"$out/gemm_test_native"

printf '\n== Lamp proposer: AArch64 under qemu against this machine\n'
lamp_flags=(-std=c++17 -O2 -fno-fast-math -ffp-contract=off -Wall -Wextra -Werror -ISources/CVBridge/include -ISources/CVBridge)
lamp_sources=(Sources/CVBridge/Lamps.cpp Tests/CVBridgeC/lamp_arch_test.cpp)
clang++ --target=aarch64-linux-gnu -static "${lamp_flags[@]}" "${lamp_sources[@]}" -o "$out/lamp_test_aarch64"
clang++ "${lamp_flags[@]}" "${lamp_sources[@]}" -o "$out/lamp_test_native"
qemu-aarch64-static "$out/lamp_test_aarch64" > "$out/lamps_aarch64.txt"
"$out/lamp_test_native" > "$out/lamps_native.txt"
head -1 "$out/lamps_native.txt"
if ! cmp -s "$out/lamps_native.txt" "$out/lamps_aarch64.txt"; then
    echo "test_neon: the AArch64 lamp proposer differs from this machine's:" >&2
    diff "$out/lamps_native.txt" "$out/lamps_aarch64.txt" | head -20 >&2
    exit 1
fi
printf '%s frames: candidates, largest and tile chroma and crops identical on AArch64 and here\n' "$(($(wc -l < "$out/lamps_native.txt") - 1))"
