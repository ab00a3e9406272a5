#!/usr/bin/env bash
# Builds build/CallsealFFI.xcframework for the Swift package: the Rust
# library (static) for iOS devices, the iOS simulator (arm64 and x86_64)
# and macOS (so `swift test` runs on the Mac), with the generated header and
# module map. Needs macOS with Xcode and rustup; run it from anywhere:
#
#   mobile/apple/build-xcframework.sh && (cd mobile/apple && swift test)
#
# It also regenerates the Swift bindings (generate-bindings.sh).
#
# --conformance builds the library with the Cargo feature `conformance` (the
# fixed-randomness functions the conformance replays need) for the test
# suite only, never to ship:
#
#   mobile/apple/build-xcframework.sh --conformance &&
#       (cd mobile/apple && swift test -Xswiftc -DCALLSEAL_CONFORMANCE)
#
# Build again without the flag before shipping.
set -euo pipefail

features=()
case "${1:-}" in
    "") ;;
    --conformance) features=(--features callseal-ffi/conformance) ;;
    *) echo "usage: build-xcframework.sh [--conformance]" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
build="$here/build"

[[ "$(uname -s)" == "Darwin" ]] || { echo "error: an XCFramework is built on macOS (xcodebuild)" >&2; exit 1; }

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "${targets[@]}"
cd "$root"
for t in "${targets[@]}"; do
    cargo build --release -p callseal-ffi --target "$t" ${features[@]+"${features[@]}"}
done
# The generator runs on the host, from the host's library.
cargo build --release -p callseal-ffi -p uniffi-bindgen ${features[@]+"${features[@]}"}
gen="$build/gen-swift"
rm -rf "$gen"
"$target/release/callseal-bindgen" generate --library "$target/release/libcallseal_ffi.dylib" \
    --language swift --out-dir "$gen"
"$here/generate-bindings.sh" "$gen"

lib=libcallseal_ffi.a
mkdir -p "$build/ios-sim" "$build/macos"
lipo -create "$target/aarch64-apple-ios-sim/release/$lib" "$target/x86_64-apple-ios/release/$lib" \
    -output "$build/ios-sim/$lib"
lipo -create "$target/aarch64-apple-darwin/release/$lib" "$target/x86_64-apple-darwin/release/$lib" \
    -output "$build/macos/$lib"

rm -rf "$build/CallsealFFI.xcframework"
xcodebuild -create-xcframework \
    -library "$target/aarch64-apple-ios/release/$lib" -headers "$build/headers" \
    -library "$build/ios-sim/$lib" -headers "$build/headers" \
    -library "$build/macos/$lib" -headers "$build/headers" \
    -output "$build/CallsealFFI.xcframework"
echo "built $build/CallsealFFI.xcframework"
