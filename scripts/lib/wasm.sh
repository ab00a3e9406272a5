# shellcheck shell=bash
# Helpers of the WebAssembly scripts (build-wasm, test-wasm, bench-wasm,
# serve-demo). Source it; do not execute it. Each ensure_* is idempotent:
# it checks first and installs only what is missing.

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

WASM_DIR="$CALLSEAL_ROOT/wasm"
WASM_PKG="$WASM_DIR/pkg"
WASM_DIST="$WASM_DIR/dist"
# The conformance-only build (Cargo feature `conformance`), never shipped.
WASM_PKG_CONFORMANCE="$WASM_DIR/pkg-conformance"
WASM_TARGET=wasm32-unknown-unknown
# wasm-bindgen's CLI must be exactly the version of the wasm-bindgen crate.
WASM_BINDGEN_VERSION=0.2.130
# The target dir cargo uses: $CARGO_TARGET_DIR when set, else <repo>/target.
WASM_CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CALLSEAL_ROOT/target}"
export WASM_DIR WASM_PKG WASM_PKG_CONFORMANCE WASM_TARGET WASM_BINDGEN_VERSION WASM_CARGO_TARGET_DIR

# The wasm build only: SIMD128 (Chromium, Firefox, Safari and Node all run
# it) speeds the software AES and GHASH up. Host builds are untouched.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS:--C target-feature=+simd128}"

# Headless Chromium for the browser tests (Debian's packages).
CHROMIUM_BIN="${CHROMIUM_BIN:-/usr/bin/chromium}"
CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
export CHROMIUM_BIN CHROMEDRIVER

# Used by the scripts that source this file.
# shellcheck disable=SC2034
wasm_locked=()
# shellcheck disable=SC2034
if [[ -n "$(cargo_locked_flag)" ]]; then
    wasm_locked=(--locked)
fi

ensure_wasm_target() {
    if rustup target list --installed 2>/dev/null | grep -qx "$WASM_TARGET"; then
        return 0
    fi
    have rustup || { warn "rustup not found; cannot add $WASM_TARGET"; return 1; }
    log "adding the $WASM_TARGET target"
    rustup target add "$WASM_TARGET" </dev/null
}

# wasm-bindgen and wasm-bindgen-test-runner of exactly $WASM_BINDGEN_VERSION:
# reused when on PATH (or in ~/.cargo/bin), else built from source: about
# 3 minutes on 2 cores with the cheap profile below, 12 with the default
# release profile. The tool only rewrites one .wasm per build, and its
# output is the same byte for byte whatever it was compiled with.
ensure_wasm_bindgen() {
    export PATH="$HOME/.cargo/bin:$PATH"
    local have_version=""
    if have wasm-bindgen && have wasm-bindgen-test-runner; then
        have_version="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')"
    fi
    if [[ "$have_version" == "$WASM_BINDGEN_VERSION" ]]; then
        log "wasm-bindgen $have_version present: $(command -v wasm-bindgen)"
        return 0
    fi
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (found: ${have_version:-none}); this takes minutes"
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false \
        CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 \
        CARGO_PROFILE_RELEASE_INCREMENTAL=false \
        cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force </dev/null || return 1
    [[ "$(wasm-bindgen --version | awk '{print $2}')" == "$WASM_BINDGEN_VERSION" ]]
}

# node and npm (Debian's), at least Node 18 for `node --test`.
ensure_node() {
    if ! have node || ! have npm; then
        log "node or npm missing; installing them with apt-get"
        apt_install nodejs npm || return 1
    fi
    local major
    major="$(node -p 'process.versions.node.split(".")[0]')"
    ((major >= 18)) || { warn "node $major is too old (need 18 or later)"; return 1; }
    log "node $(node --version), npm $(npm --version 2>/dev/null)"
}

# The build and test tools of wasm/package-lock.json (binaryen's wasm-opt,
# playwright-core), installed into wasm/node_modules.
ensure_wasm_npm() {
    ensure_node || return 1
    if [[ -x "$WASM_DIR/node_modules/.bin/wasm-opt" && -d "$WASM_DIR/node_modules/playwright-core" &&
        -x "$WASM_DIR/node_modules/.bin/tsc" ]]; then
        return 0
    fi
    log "installing wasm/node_modules (npm ci)"
    (cd "$WASM_DIR" && npm ci --no-audit --no-fund </dev/null) || return 1
}

# Debian's Chromium and chromedriver (never a browser download).
ensure_chromium() {
    if [[ -x "$CHROMIUM_BIN" && -x "$CHROMEDRIVER" ]]; then
        return 0
    fi
    log "Chromium or chromedriver missing; installing them with apt-get"
    apt_install chromium chromium-driver || return 1
    [[ -x "$CHROMIUM_BIN" && -x "$CHROMEDRIVER" ]]
}

# cargo build -p callseal-wasm --release for wasm32, plus any extra cargo
# arguments (`--features conformance`). The module is linked with fat LTO and
# one codegen unit: whole-program dead-code elimination keeps the package
# under its size budget now that calls carry ML-KEM-768 (about 538 KB
# gzipped without LTO, 498 KB with it; about 11 s more to compile
# callseal-core and the wrapper on 2 cores). MLS (handshakes, a few per minute) is built for size; the
# media path (callseal-core's SFrame, the AEADs) keeps opt-level 3. Both
# builds pass the same flags, so the conformance build reuses every
# dependency and recompiles only callseal-core and the wrapper.
wasm_cargo_build() {
    local size_opt=(--config 'profile.release.lto="fat"' --config 'profile.release.codegen-units=1') pkg
    # Size over speed for MLS, the curves and ciphers of handshakes, MLS and
    # policy signatures, and JSON (the frame layer's AES-GCM, SHA-2 and HKDF
    # keep opt-level 3); callseal-core without its precomputed curve tables
    # (wasm/Cargo.toml).
    for pkg in mls-rs mls-rs-core mls-rs-codec mls-rs-crypto-rustcrypto mls-rs-crypto-hpke mls-rs-crypto-traits \
        p256 p384 ecdsa elliptic-curve primeorder primefield crypto-bigint ff group sec1 der spki pkcs8 rfc6979 \
        chacha20 chacha20poly1305 poly1305 serde_json futures-util itertools \
        curve25519-dalek ed25519-dalek ed25519 x25519-dalek ml-kem module-lattice sha3 keccak base64ct; do
        size_opt+=(--config "profile.release.package.\"$pkg\".opt-level=\"s\"")
    done
    log "cargo build -p callseal-wasm --release --target $WASM_TARGET $* (RUSTFLAGS: $CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS)"
    cargo build -p callseal-wasm --release --target "$WASM_TARGET" "${wasm_locked[@]}" "${size_opt[@]}" "$@"
}

# errors.js of a package in $1: the error class is the one the glue imports
# (a wasm-bindgen snippet), so `instanceof CallsealError` holds for every
# error thrown.
write_errors_entry() {
    local out="$1" snippet
    snippet="$(cd "$out" && find snippets -path '*/js/errors.js' | head -n 1)"
    [[ -n "$snippet" ]] || die "wasm-bindgen emitted no errors.js snippet"
    printf "export { CallsealError } from './%s';\n" "$snippet" >"$out/errors.js"
}

# The built package must exist (scripts/build-wasm makes it).
require_wasm_pkg() {
    [[ -f "$WASM_PKG/package.json" && -f "$WASM_PKG/callseal_bg.wasm" ]] ||
        die "wasm/pkg is not built: run scripts/build-wasm first"
}

# The conformance build must exist (scripts/build-wasm --conformance).
require_wasm_pkg_conformance() {
    [[ -f "$WASM_PKG_CONFORMANCE/package.json" && -f "$WASM_PKG_CONFORMANCE/callseal_bg.wasm" ]] ||
        die "wasm/pkg-conformance is not built: run scripts/build-wasm --conformance first"
}
