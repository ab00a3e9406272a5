// swift-tools-version:5.9
// The Swift package of callseal: the UniFFI-generated Swift API
// (Sources/Callseal/Callseal.swift, generated, not committed), a small
// hand-written part (Sources/Callseal/CallsealApi.swift), and the Rust
// library as an XCFramework (build/CallsealFFI.xcframework, built by
// build-xcframework.sh on a Mac). See README.md.
import PackageDescription

let package = Package(
    name: "Callseal",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Callseal", targets: ["Callseal"]),
    ],
    targets: [
        .binaryTarget(name: "CallsealFFI", path: "build/CallsealFFI.xcframework"),
        .target(name: "Callseal", dependencies: ["CallsealFFI"], path: "Sources/Callseal"),
        .testTarget(name: "CallsealTests", dependencies: ["Callseal"], path: "Tests/CallsealTests"),
    ]
)
