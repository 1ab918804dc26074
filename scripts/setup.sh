#!/usr/bin/env bash
# Installs everything ListenToTheWorld needs on Debian 12 and builds it. Safe to run again:
# it installs only what is missing and rebuilds only what changed.
#
#   ./scripts/setup.sh            system packages, Python environment, release build
#   ./scripts/setup.sh --no-build the same without building the Swift package
#
# Run as root or as a user with sudo. Needs the Swift toolchain (6.1 or newer) on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
for argument in "$@"; do
    case "$argument" in
        --no-build) build=0 ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "setup: unknown option '$argument' (try --help)" >&2; exit 2 ;;
    esac
done

step() { printf '\n== %s\n' "$*"; }

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "setup: installing system packages needs root; run as root or install sudo" >&2
    exit 1
fi

# OpenCV (core, imgproc, imgcodecs, videoio), libjpeg-turbo and libpng (JPEGs and PNGs are
# decoded through them directly), eSpeak-ng and its voices, OpenBLAS, ALSA for the sound device,
# Python for training and the reference tests, and the AArch64 cross compilers (C, and C++ for its
# libstdc++, which clang's AArch64 build of the lamp proposer links) and qemu that test the NEON
# code on any machine (scripts/test_neon.sh).
packages=(
    pkg-config libopencv-dev libjpeg62-turbo-dev libpng-dev libopenblas-dev libespeak-ng-dev espeak-ng espeak-ng-data
    libasound2-dev gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user-static
)
command -v python3 >/dev/null 2>&1 || packages+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || packages+=(python3-venv python3-pip)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    step "Installing Debian packages: ${missing[*]}"
    "${as_root[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "${missing[@]}"
else
    step "Debian packages: all present"
fi

for module in openblas espeak-ng opencv4; do
    pkg-config --exists "$module" || { echo "setup: pkg-config cannot find $module after installing" >&2; exit 1; }
done

# The Python environment for training, evaluation and the reference fixtures. The stamp file
# records which requirements were installed, so an unchanged set is not reinstalled.
requirements=training/requirements.txt
if [ -f "$requirements" ]; then
    [ -x .venv/bin/python ] || { step "Creating .venv"; python3 -m venv .venv; }
    stamp=.venv/.requirements.sha256
    wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
        step "Installing Python requirements (torch alone is 200 MB to 3 GB: this takes a while once)"
        .venv/bin/python -m pip install --disable-pip-version-check -q --upgrade pip
        .venv/bin/python -m pip install --disable-pip-version-check -q -r "$requirements"
        echo "$wanted" > "$stamp"
    else
        step "Python requirements: up to date"
    fi
fi

if [ "$build" -eq 1 ]; then
    step "Building (release)"
    swift build -c release
fi
step "Setup done"
