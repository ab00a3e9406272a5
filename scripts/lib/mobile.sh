# shellcheck shell=bash
# Helpers for scripts/test-mobile, scripts/check-targets and
# scripts/test-interop. Source it; do not execute it.
#
# Like common.sh, every ensure_* function checks first and installs only what
# is missing, so a warm machine pays nothing and a new CI machine (Debian,
# root) gets everything it needs.

# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# The cargo target directory: CARGO_TARGET_DIR when set, <repo>/target
# otherwise.
CALLSEAL_TARGET="${CARGO_TARGET_DIR:-$CALLSEAL_ROOT/target}"
export CALLSEAL_TARGET

# Where the mobile scripts keep generated bindings and build products.
CALLSEAL_MOBILE_BUILD="$CALLSEAL_TARGET/callseal-mobile"
export CALLSEAL_MOBILE_BUILD

# Tools installed by these helpers (the Kotlin compiler, the Python venv)
# live outside the repository and survive `cargo clean`.
CALLSEAL_TOOLS="${CALLSEAL_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/callseal-tools}"
export CALLSEAL_TOOLS

KOTLIN_COMPILER_VERSION="2.4.20"

# The library file name on this host.
ffi_library_name() {
    case "$(uname -s)" in
        Darwin) printf 'libcallseal_ffi.dylib' ;;
        *) printf 'libcallseal_ffi.so' ;;
    esac
}

# The shipping shared library cargo builds for the host (release, default
# features: no fixed-randomness functions).
ffi_library() {
    printf '%s/release/%s' "$CALLSEAL_TARGET" "$(ffi_library_name)"
}

# Where the conformance build of the library is kept (a copy: target/debug
# is shared with every other cargo command of the workspace).
CALLSEAL_CONFORMANCE_LIB_DIR="$CALLSEAL_MOBILE_BUILD/conformance-lib"
export CALLSEAL_CONFORMANCE_LIB_DIR

# The conformance build of the library, once build_ffi_conformance ran.
ffi_conformance_library() {
    printf '%s/%s' "$CALLSEAL_CONFORMANCE_LIB_DIR" "$(ffi_library_name)"
}

# Builds the shipping library and the generator. The library is built
# exactly as maturin builds it for the Python wheel (`cargo rustc --profile
# release --lib --crate-type cdylib` of callseal-ffi alone), so the wheel's
# build finds it fresh and no run rebuilds it for the other: callseal-ffi
# alone, because its dependencies' features must not be unified with the
# generator's. The generator (binary callseal-bindgen) is a second cargo
# command; only the small uniffi crate is compiled once more for it.
build_ffi() {
    local locked
    locked="$(cargo_locked_flag)"
    # shellcheck disable=SC2086  # $locked is empty or one flag
    cargo rustc --profile release --message-format json-render-diagnostics $locked \
        --manifest-path "$CALLSEAL_ROOT/bindings/Cargo.toml" --lib --crate-type cdylib >/dev/null || return 1
    # shellcheck disable=SC2086
    cargo build --release $locked -p uniffi-bindgen
}

# The generator, as built by build_ffi.
bindgen_path() {
    printf '%s/release/callseal-bindgen' "$CALLSEAL_TARGET"
}

# Builds the library with the Cargo feature `conformance` (the
# fixed-randomness functions the conformance replays need) and copies it to
# CALLSEAL_CONFORMANCE_LIB_DIR. It uses the dev profile, whose dependencies
# the workspace optimizes anyway and which `cargo test` keeps warm: only
# callseal-core and callseal-ffi compile (incrementally), and switching
# features never invalidates the release build of the shipping library
# (a cdylib's file name carries no feature hash, so building both in one
# profile would rebuild callseal-ffi on every switch).
build_ffi_conformance() {
    local locked
    locked="$(cargo_locked_flag)"
    # shellcheck disable=SC2086  # $locked is empty or one flag
    cargo build $locked -p callseal-ffi --features conformance || return 1
    mkdir -p "$CALLSEAL_CONFORMANCE_LIB_DIR"
    cp "$CALLSEAL_TARGET/debug/$(ffi_library_name)" "$CALLSEAL_CONFORMANCE_LIB_DIR/" || return 1
}

# The names only a conformance build exports (case-insensitive): the
# fixed-randomness functions and error_codes.
CONFORMANCE_ONLY_PATTERN='scripted|error_codes|errorCodes'

# check_shipping FILE... — fails (and names them) if a shipping artifact
# (the library's exported symbols, generated bindings) holds a
# conformance-only name.
check_shipping() {
    local f found=0 hits
    for f in "$@"; do
        if [[ ! -s "$f" ]]; then
            warn "$f: missing"
            found=1
            continue
        fi
        case "$f" in
            *.so | *.dylib) have nm || { warn "nm (binutils) is needed to check $f"; return 1; } ;;
        esac
        case "$f" in
            *.so) hits="$(nm -D --defined-only "$f" | grep -Eic "$CONFORMANCE_ONLY_PATTERN" || true)" ;;
            *.dylib) hits="$(nm -gU "$f" | grep -Eic "$CONFORMANCE_ONLY_PATTERN" || true)" ;;
            *) hits="$(grep -Eic "$CONFORMANCE_ONLY_PATTERN" "$f" || true)" ;;
        esac
        if [[ "${hits:-0}" != "0" ]]; then
            warn "$f: $hits conformance-only names in a shipping artifact"
            found=1
        fi
    done
    ((found == 0))
}

# generate_bindings LANGUAGE OUT_DIR [LIBRARY] — UniFFI library mode, from
# the shipping library unless LIBRARY is given.
generate_bindings() {
    local language="$1" out="$2" library="${3:-$(ffi_library)}"
    rm -rf "$out"
    mkdir -p "$out"
    "$(bindgen_path)" generate \
        --library "$library" \
        --language "$language" --out-dir "$out" --no-format
}

# A Java runtime and compiler (the Kotlin tests run on the JVM).
ensure_java() {
    if have java && have javac; then
        return 0
    fi
    log "installing a JDK with apt-get"
    apt_install default-jdk-headless
}

# JNA (UniFFI's Kotlin bindings load the library through it) and JUnit 4.
ensure_jvm_test_jars() {
    if [[ -f /usr/share/java/jna.jar && -f /usr/share/java/junit4.jar && -f /usr/share/java/hamcrest-core.jar ]]; then
        return 0
    fi
    log "installing libjna-java and junit4 with apt-get"
    apt_install libjna-java junit4 libhamcrest-java
}

# The Kotlin compiler from the npm package kotlin-compiler (it ships kotlinc
# with the kotlin-test and kotlinx-coroutines jars). Prints nothing; sets
# KOTLIN_HOME.
ensure_kotlinc() {
    local prefix="$CALLSEAL_TOOLS/kotlin-$KOTLIN_COMPILER_VERSION"
    KOTLIN_HOME="$prefix/node_modules/kotlin-compiler"
    export KOTLIN_HOME
    if [[ -x "$KOTLIN_HOME/bin/kotlinc" ]]; then
        return 0
    fi
    have npm || apt_install npm || return 1
    log "installing kotlin-compiler@$KOTLIN_COMPILER_VERSION with npm into $prefix"
    mkdir -p "$prefix"
    npm install --silent --no-audit --no-fund --prefix "$prefix" \
        "kotlin-compiler@$KOTLIN_COMPILER_VERSION" </dev/null || return 1
    [[ -x "$KOTLIN_HOME/bin/kotlinc" ]] || chmod +x "$KOTLIN_HOME"/bin/* 2>/dev/null || true
    [[ -x "$KOTLIN_HOME/bin/kotlinc" ]] || { warn "kotlinc not found in $KOTLIN_HOME"; return 1; }
}

# A Python venv with pytest and maturin (the exact version below, the one
# bindings/python/pyproject.toml requires); sets CALLSEAL_VENV. The suite
# itself runs in a fresh venv of its own (scripts/test-mobile).
MATURIN_VERSION="1.16.0"

ensure_python_venv() {
    CALLSEAL_VENV="$CALLSEAL_TOOLS/python-venv"
    export CALLSEAL_VENV
    if [[ -x "$CALLSEAL_VENV/bin/python" ]] && "$CALLSEAL_VENV/bin/python" -c 'import pytest' 2>/dev/null &&
        [[ "$("$CALLSEAL_VENV/bin/maturin" --version 2>/dev/null)" == "maturin $MATURIN_VERSION" ]]; then
        return 0
    fi
    if ! have python3; then
        apt_install python3 python3-venv || return 1
    fi
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        apt_install python3-venv || return 1
    fi
    if [[ ! -x "$CALLSEAL_VENV/bin/python" ]]; then
        log "creating the Python venv $CALLSEAL_VENV"
        python3 -m venv "$CALLSEAL_VENV" || return 1
    fi
    log "installing pytest and maturin==$MATURIN_VERSION into $CALLSEAL_VENV"
    "$CALLSEAL_VENV/bin/python" -m pip install --quiet --disable-pip-version-check pytest \
        "maturin==$MATURIN_VERSION" </dev/null || return 1
}

# build_wheel OUT_DIR — the wheel of bindings/python (package `callseal`,
# the shipping library, release) into OUT_DIR with maturin; prints its path.
# Run after build_ffi: maturin's cargo command is build_ffi's, so it finds
# the library fresh, and maturin runs the generator found on PATH as
# `uniffi-bindgen`, here the workspace's release build.
build_wheel() {
    local out="$1" bin="$CALLSEAL_MOBILE_BUILD/bin" locked
    locked="$(cargo_locked_flag)"
    mkdir -p "$bin" "$out"
    ln -sf "$(bindgen_path)" "$bin/uniffi-bindgen"
    rm -f "$out"/callseal-*.whl
    # shellcheck disable=SC2086  # $locked is empty or one flag
    (cd "$CALLSEAL_ROOT/bindings/python" && PATH="$bin:$PATH" \
        "$CALLSEAL_VENV/bin/maturin" build --release $locked --out "$out" >&2) || return 1
    local wheels=("$out"/callseal-*.whl)
    [[ -f "${wheels[0]}" ]] || { warn "maturin wrote no wheel into $out"; return 1; }
    printf '%s\n' "${wheels[0]}"
}
