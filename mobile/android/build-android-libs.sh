#!/usr/bin/env bash
# Builds libcallseal_ffi.so for the Android ABIs into src/main/jniLibs and
# generates the Kotlin bindings into src/main/kotlin, so the Gradle module
# can be built. Needs the Android NDK (ANDROID_NDK_HOME) and cargo-ndk
# (`cargo install cargo-ndk`); neither is on this project's CI machine.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"

rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
cd "$root"
cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 -o "$here/src/main/jniLibs" \
    build --release -p callseal-ffi
cargo build --release -p callseal-ffi -p uniffi-bindgen
gen="$target/callseal-mobile/gen-kotlin"
rm -rf "$gen"
"$target/release/callseal-bindgen" generate --library "$target/release/libcallseal_ffi.so" \
    --language kotlin --out-dir "$gen" --no-format
cp "$gen/org/callseal/callseal.kt" "$here/src/main/kotlin/org/callseal/callseal.kt"
echo "jniLibs and bindings ready; open $here in Android Studio or run ./gradlew assembleRelease"
