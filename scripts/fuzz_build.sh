#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/README.md) into .build-fuzz/, or the targets named.
#   scripts/fuzz_build.sh                 # all targets
#   scripts/fuzz_build.sh cvbridge_decode # one
# C++: CVBridge's sources compiled with -fsanitize=fuzzer,address against the system OpenCV, and
# its media plugin (Sources/CVMedia, OpenCV's BMP/WebP/TIFF decoders) instrumented the same way
# into .build-fuzz/libCVMedia.so, beside the harnesses, where the bridge loads it from.
# Swift: ModelArtifact and Vision compiled with -sanitize=fuzzer,address (their dependencies, the
# GEMM kernels in CKernels among them, come from the package's ordinary debug build, which this
# script runs first); the tokenizer and the
# daemon's sources (for its YAML reader) are compiled into their harnesses, instrumented too, the
# daemon's entry point renamed so that libFuzzer's main runs.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${FUZZ_BUILD:-.build-fuzz}
ALL=(cvbridge_probe cvbridge_decode cvbridge_lamps swift_config swift_tokenizer swift_safetensors swift_strictjson swift_yaml)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")
mkdir -p "$OUT/obj"
# CVBridge's libraries: OpenCV's core and imgproc, and libjpeg and libpng, which decode JPEGs and
# PNGs themselves. The plugin's: OpenCV's codecs and video I/O. The cvbridge harnesses link
# imgcodecs too, to compare the bridge's pixels with cv::imdecode's.
BRIDGE_LIBS=(-lopencv_core -lopencv_imgproc -ljpeg -lpng16)
MEDIA_LIBS=(-lopencv_core -lopencv_imgproc -lopencv_imgcodecs -lopencv_videoio)
CXXFLAGS=(-std=c++17 -O1 -g -fsanitize=fuzzer-no-link,address -fno-fast-math -ffp-contract=off
          -I Sources/CVBridge -I Sources/CVBridge/include -I Sources/CVMedia/include -I /usr/include/opencv4)

needs_swift=0
for t in "${TARGETS[@]}"; do case $t in swift_*) needs_swift=1 ;; esac; done

# An object is rebuilt when its source, or any header of the bridge, is newer.
compile() {
    local source=$1 object=$2
    shift 2
    if [ ! -f "$object" ] || [ "$source" -nt "$object" ] ||
        [ -n "$(find Sources/CVBridge Sources/CVMedia -name '*.h*' -newer "$object")" ]; then
        clang++ "${CXXFLAGS[@]}" "$@" -c "$source" -o "$object"
    fi
}

cvbridge_objects() {
    mkdir -p "$OUT/obj/bridge" "$OUT/obj/media"
    for source in Sources/CVBridge/*.cpp; do compile "$source" "$OUT/obj/bridge/$(basename "$source" .cpp).o"; done
    for source in Sources/CVMedia/*.cpp; do
        compile "$source" "$OUT/obj/media/$(basename "$source" .cpp).o" -fPIC -fvisibility=hidden -fvisibility-inlines-hidden
    done
    # The sanitizer runtimes are the harness's: the plugin leaves their symbols to it.
    clang++ -shared -fsanitize=fuzzer-no-link,address "$OUT"/obj/media/*.o "${MEDIA_LIBS[@]}" -o "$OUT/libCVMedia.so"
}

if [ $needs_swift -eq 1 ]; then
    swift build --target Narrator >/dev/null
    swift build --product assistd >/dev/null 2>&1 || swift build --target assistd >/dev/null
    DEBUG=$(swift build --show-bin-path)
    SAN=(-sanitize=fuzzer,address -parse-as-library -g -Onone -enable-upcoming-feature ExistentialAny)
    MAPS=(-Xcc -I -Xcc Sources/CVBridge/include
          -Xcc -fmodule-map-file=Sources/COpenBLAS/module.modulemap -Xcc -fmodule-map-file=Sources/CESpeakNG/module.modulemap
          -Xcc -fmodule-map-file=Sources/CALSA/module.modulemap)
    # The C modules of the dependencies: their own module maps, and those SwiftPM generated.
    for map in $(find .build/checkouts -path '*/Sources/*' -name module.modulemap -not -path '*Benchmarks*') \
               $(find "$DEBUG" -maxdepth 2 -name module.modulemap); do
        MAPS+=(-Xcc "-fmodule-map-file=$map" -Xcc -I -Xcc "$(dirname "$map")")
    done
    mkdir -p "$OUT/swift"
    # Instrumented ModelArtifact and Vision, found before the debug build's copies. The module
    # and the object are made by two commands: with -g, one command would write the object twice.
    module() {
        local name=$1
        shift
        swiftc "${SAN[@]}" -wmo -module-name "$name" -emit-module -emit-module-path "$OUT/swift/$name.swiftmodule" "$@"
        swiftc "${SAN[@]}" -wmo -module-name "$name" -c -o "$OUT/swift/$name.o" "$@"
    }
    module ModelArtifact Sources/ModelArtifact/*.swift
    module Vision -I "$OUT/swift" -I "$DEBUG/Modules" "${MAPS[@]}" $(find Sources/Vision -name '*.swift')
    objects() { for target in "$@"; do find "$DEBUG/$target.build" -name '*.o'; done; }
    # Every library target's objects (the daemon's config code reaches into Hummingbird and
    # swift-log), less programs, tests, plugin tools, the malloc counter and the instrumented two.
    library_objects() {
        find "$DEBUG" -maxdepth 2 -name '*.build' -type d | grep -vE '/(listen|assistd|AllocationCounter|ModelArtifact|Vision|Imaging|Kernels|CKernels|CVBridge|CVMedia)\.build$|Tests\.build$|-tool\.build$|Plugin' |
            while read -r dir; do find "$dir" -name '*.o' -print0; done
    }
    BASE_OBJECTS=("$OUT/swift/ModelArtifact.o" "$OUT/swift/Vision.o" $(objects Imaging Kernels CKernels CVBridge))
    BASE_LIBS=("${BRIDGE_LIBS[@]}" -lopenblas -lstdc++)
fi

for t in "${TARGETS[@]}"; do
    echo "building $t"
    case $t in
        cvbridge_probe|cvbridge_decode|cvbridge_lamps)
            cvbridge_objects
            clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address -I Sources/CVBridge/include -I /usr/include/opencv4 "fuzz/cvbridge/$t.cpp" \
                "$OUT"/obj/bridge/*.o "${BRIDGE_LIBS[@]}" -lopencv_imgcodecs -o "$OUT/$t" ;;
        swift_config)
            swiftc "${SAN[@]}" -D FUZZ_CONFIG -I "$OUT/swift" -I "$DEBUG/Modules" "${MAPS[@]}" fuzz/swift/Harness.swift \
                "${BASE_OBJECTS[@]}" "${BASE_LIBS[@]}" -o "$OUT/$t" ;;
        swift_tokenizer)
            swiftc "${SAN[@]}" -D FUZZ_TOKENIZER -I "$OUT/swift" -I "$DEBUG/Modules" "${MAPS[@]}" fuzz/swift/Harness.swift \
                Sources/Narrator/Tokenizer.swift Sources/Narrator/Language.swift "$OUT/swift/ModelArtifact.o" -o "$OUT/$t" ;;
        swift_safetensors)
            swiftc "${SAN[@]}" -D FUZZ_SAFETENSORS -I "$OUT/swift" fuzz/swift/Harness.swift "$OUT/swift/ModelArtifact.o" -o "$OUT/$t" ;;
        swift_strictjson)
            swiftc "${SAN[@]}" -D FUZZ_STRICTJSON -I "$OUT/swift" fuzz/swift/Harness.swift "$OUT/swift/ModelArtifact.o" -o "$OUT/$t" ;;
        swift_yaml)
            mapfile -d '' LIBRARY_OBJECTS < <(library_objects)
            swiftc "${SAN[@]}" -D FUZZ_YAML -I "$OUT/swift" -I "$DEBUG/Modules" "${MAPS[@]}" fuzz/swift/Harness.swift \
                Sources/assistd/*.swift -Xfrontend -entry-point-function-name -Xfrontend assistd_main "${BASE_OBJECTS[@]}" "${LIBRARY_OBJECTS[@]}" "${BASE_LIBS[@]}" -lespeak-ng -lasound \
                -o "$OUT/$t" ;;
        *) echo "unknown target $t (one of: ${ALL[*]})" >&2; exit 2 ;;
    esac
done
