// swift-tools-version: 6.1
import PackageDescription

/// OpenCV is linked module by module: `pkg-config --libs opencv4` names ~55 libraries,
/// which costs start-up time and memory on a wearable. CVBridge links only core and imgproc.
let openCVCore = ["opencv_core", "opencv_imgproc"]
/// imgcodecs and videoio need ~240 shared libraries (GDAL, poppler, GStreamer, FFmpeg, ...), about
/// 60 MB resident in every process that links them, so they are linked only into CVMedia, the
/// plugin CVBridge loads the first time a video, a camera, a BMP, WebP or TIFF image or an
/// encoding is asked for (Sources/CVBridge/MediaPlugin.h).
let openCVMedia = ["opencv_imgcodecs", "opencv_videoio"]

let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

/// The numeric hot loops are optimised in debug builds too: unoptimised, a frame takes ~40×
/// longer, which makes the tests that run the real model and binaries slow for no gain in
/// debuggability of code that the parity tests already pin down.
let optimisedInDebug: [SwiftSetting] = strictSwift + [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "ListenToTheWorld",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "listen", targets: ["listen"]),
        .executable(name: "assistd", targets: ["assistd"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "Kernels", targets: ["Kernels"]),
        .library(name: "Vision", targets: ["Vision"]),
        .library(name: "Fusion", targets: ["Fusion"]),
        .library(name: "Narrator", targets: ["Narrator"]),
        .library(name: "Pipeline", targets: ["Pipeline"]),
        // Preloaded by `listen bench` to count allocations per frame; not linked into anything.
        .library(name: "AllocationCounter", type: .dynamic, targets: ["AllocationCounter"]),
        // OpenCV's codecs and video I/O, loaded by CVBridge on first use from next to the executable;
        // not linked into anything. `swift build` builds it; a `--product` build needs it named too.
        .library(name: "CVMedia", type: .dynamic, targets: ["CVMedia"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // assistd only: the local API, logs, metrics, lifecycle and its config file.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.20.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
    ],
    targets: [
        // MARK: C and C++ shims — nothing outside Imaging, Kernels and Narrator sees C types.
        .target(
            name: "CVBridge",
            cxxSettings: [
                // No FMA contraction: the area resize must round exactly as OpenCV's x86 build does.
                .unsafeFlags(["-I/usr/include/opencv4", "-std=c++17", "-fno-fast-math", "-ffp-contract=off"]),
            ],
            // libjpeg(-turbo), the same one OpenCV uses: JPEGs are decoded through it directly so that
            // its corrupt-data warnings refuse the file (Debian: libjpeg62-turbo-dev). libpng, the same
            // one OpenCV uses, likewise for PNGs, which the model's known-answer frames are: reading
            // them needs no media plugin (libpng-dev).
            linkerSettings: (openCVCore + ["jpeg", "png16"]).map { .linkedLibrary($0) }
        ),
        // The media plugin (product CVMedia): it implements CVBridge's internal MediaPlugin.h over
        // CVBridge's own handle types (Internal.hpp), hence the header paths into CVBridge. Hidden
        // visibility: only its table's entry point is exported.
        .target(
            name: "CVMedia",
            cxxSettings: [
                .headerSearchPath("../CVBridge"),
                .headerSearchPath("../CVBridge/include"),
                .unsafeFlags(["-I/usr/include/opencv4", "-std=c++17", "-fvisibility=hidden", "-fvisibility-inlines-hidden"]),
            ],
            linkerSettings: (openCVCore + openCVMedia).map { .linkedLibrary($0) }
        ),
        .target(name: "AllocationCounter"),
        // The matrix-product micro-kernels. Optimised in every configuration (like Kernels' hot
        // loops); each x86 kernel carries its own target attribute, so the package stays
        // baseline x86-64 and picks AVX2 or AVX-512 at run time.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CESpeakNG",
            pkgConfig: "espeak-ng",
            providers: [.apt(["libespeak-ng-dev"])]
        ),
        // ALSA rather than PulseAudio: a headless wearable has ALSA and rarely a sound server.
        .systemLibrary(
            name: "CALSA",
            pkgConfig: "alsa",
            providers: [.apt(["libasound2-dev"])]
        ),

        // MARK: Libraries, in data-flow order.
        .target(name: "Imaging", dependencies: ["CVBridge"], swiftSettings: strictSwift),
        .target(name: "Kernels", dependencies: ["CKernels", "COpenBLAS"], exclude: ["README.md"], swiftSettings: optimisedInDebug),
        // Reads and validates model files (safetensors, memory-mapped); no numeric code, no BLAS.
        // Optimised in debug builds too: every load reads the whole weights file for its CRC-32.
        .target(name: "ModelArtifact", swiftSettings: optimisedInDebug),
        // Vision and Narrator read config.json and tokenizer.json through ModelArtifact's strict JSON
        // parser and regular-file reader.
        .target(name: "Vision", dependencies: ["Imaging", "Kernels", "ModelArtifact"], swiftSettings: strictSwift),
        .target(name: "Fusion", dependencies: ["Vision", "Kernels"], swiftSettings: strictSwift),
        .target(name: "Narrator", dependencies: ["Fusion", "Kernels", "ModelArtifact", "CESpeakNG", "CALSA"], swiftSettings: strictSwift),

        .target(name: "Pipeline", dependencies: ["Imaging", "Kernels", "ModelArtifact", "Vision", "Fusion", "Narrator"], swiftSettings: strictSwift),

        // MARK: Programs.
        .executableTarget(
            name: "listen",
            dependencies: [
                "Imaging", "Kernels", "Vision", "Fusion", "Narrator", "Pipeline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "assistd",
            dependencies: [
                "Imaging", "Kernels", "Vision", "Fusion", "Narrator", "Pipeline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictSwift
        ),

        // MARK: Tests.
        // What several test targets share (the seeded generator); never a product's dependency.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: strictSwift),
        .testTarget(
            name: "ImagingTests",
            dependencies: ["Imaging", "TestSupport"],
            exclude: ["Fixtures"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "KernelsTests",
            dependencies: ["Kernels", "ModelArtifact", "TestSupport"],
            exclude: ["Fixtures"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ModelArtifactTests",
            dependencies: ["ModelArtifact"],
            exclude: ["Fixtures"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "PipelineTests",
            dependencies: ["Pipeline", "Imaging", "Vision", "Narrator", "TestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "CLITests",
            dependencies: ["listen", "assistd", "Imaging", "Fusion", "Kernels", "Narrator", "Pipeline", "Vision"],
            swiftSettings: strictSwift
        ),
        .testTarget(name: "FusionTests", dependencies: ["Fusion", "Vision", "TestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "NarratorTests", dependencies: ["Narrator", "Fusion", "Vision", "TestSupport"], swiftSettings: strictSwift),
    ],
    cxxLanguageStandard: .cxx17
)
