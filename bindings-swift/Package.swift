// swift-tools-version:6.0
//
// The tokenkeep Swift package: the Rust core's generated bindings plus a thin
// Swift layer (TokenKeeper with a token cache and URLSession, errors, stores).
//
// Targets, bottom up:
//   tokenkeepFFI        the core's C interface. On Apple platforms: the
//                       XCFramework made by build-xcframework.sh (static
//                       libraries + header + module map). On Linux: the
//                       header and module map made by generate.sh, linked
//                       against the core's shared library.
//   TokenKeepGenerated  the Swift code uniffi generates (generate.sh).
//   TokenKeep           what apps import; re-exports TokenKeepGenerated, whose
//                       class TokenKeeper its own TokenKeeper (a subclass)
//                       shadows for importers.
//   TokenKeepE2E        (not a product) the shared end-to-end scenarios,
//                       tests/e2e/scenarios.json, run from Swift by
//                       tests/e2e/swift/run-scenarios.sh.
//
// Everything under Generated/ is produced from the built core and never
// committed: run generate.sh (Linux) or build-xcframework.sh (Apple) first.
import PackageDescription

#if os(Linux)
// Where libtokenkeep.so is: TOKENKEEP_LIB_DIR, else the copy generate.sh
// took of the library it generated the bindings from.
let coreLibraryDirectory: String = {
    if let dir = Context.environment["TOKENKEEP_LIB_DIR"], !dir.isEmpty { return dir }
    return Context.packageDirectory + "/Generated/lib"
}()
let ffiTarget: Target = .systemLibrary(name: "tokenkeepFFI", path: "Generated/tokenkeepFFI")
let coreLinkerSettings: [LinkerSetting] = [
    .linkedLibrary("tokenkeep"),
    .unsafeFlags(["-L", coreLibraryDirectory, "-Xlinker", "-rpath", "-Xlinker", coreLibraryDirectory]),
]
#else
let ffiTarget: Target = .binaryTarget(name: "tokenkeepFFI", path: "Generated/tokenkeepFFI.xcframework")
// What the core's static library needs from the system (reqwest, rustls, tokio).
let coreLinkerSettings: [LinkerSetting] = [
    .linkedFramework("CoreFoundation"),
    .linkedFramework("Security"),
    .linkedFramework("SystemConfiguration"),
]
#endif

let package = Package(
    name: "TokenKeep",
    // ContinuousClock (the token cache's clock, which keeps counting while
    // the device sleeps) needs iOS 16 / macOS 13.
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [
        .library(name: "TokenKeep", targets: ["TokenKeep"]),
    ],
    targets: [
        ffiTarget,
        .target(
            name: "TokenKeepGenerated",
            dependencies: ["tokenkeepFFI"],
            path: "Generated/Swift",
            linkerSettings: coreLinkerSettings
        ),
        .target(
            name: "TokenKeep",
            dependencies: ["TokenKeepGenerated"],
            path: "Sources/TokenKeep"
        ),
        .executableTarget(
            name: "TokenKeepE2E",
            dependencies: ["TokenKeep"],
            path: "Sources/TokenKeepE2E"
        ),
        .testTarget(
            name: "TokenKeepTests",
            dependencies: ["TokenKeep"],
            path: "Tests/TokenKeepTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
