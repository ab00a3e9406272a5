# shellcheck shell=bash
# Shared helpers for .ci/run and scripts/*. Source it; do not execute it.
#
# Every ensure_* function is idempotent: it checks first and installs only
# what is missing, so a warm machine pays nothing and a brand-new CI machine
# gets what it needs.

# Repository root (this file lives in scripts/lib/).
CALLSEAL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CALLSEAL_ROOT

log() { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

have() { command -v "$1" >/dev/null 2>&1; }

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif have sudo; then
        sudo -n "$@"
    else
        warn "need root to run: $*"
        return 1
    fi
}

# Install Debian packages non-interactively (CI has no stdin).
apt_install() {
    have apt-get || { warn "apt-get not found; install manually: $*"; return 1; }
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq || return 1
    as_root apt-get install -y -qq --no-install-recommends "$@" </dev/null || return 1
}

# Prints "--locked" when Cargo.lock is committed, nothing otherwise. In a
# fresh CI clone the file exists only if it is committed; in a working tree
# an untracked, freshly generated Cargo.lock must not turn on --locked.
cargo_locked_flag() {
    local root="$CALLSEAL_ROOT"
    [[ -f "$root/Cargo.lock" ]] || return 0
    if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
        if git -C "$root" ls-files --error-unmatch Cargo.lock >/dev/null 2>&1; then
            printf -- '--locked'
        fi
    else
        printf -- '--locked'
    fi
}

# ffmpeg with the encoders the Rust media tests drive to produce real
# H.264/H.265/VP8/VP9/AV1/Opus frames.
ensure_ffmpeg() {
    if have ffmpeg; then
        log "ffmpeg present: $(command -v ffmpeg)"
    else
        log "ffmpeg missing; installing it with apt-get"
        apt_install ffmpeg || { warn "could not install ffmpeg"; return 1; }
        have ffmpeg || { warn "ffmpeg still missing after install"; return 1; }
    fi
    log "$(ffmpeg -hide_banner -version | head -n 1)"
    check_ffmpeg_encoders
}

# Checks the encoders; prints which are present. Fails when one of the
# required codecs has no encoder at all.
check_ffmpeg_encoders() {
    local encoders
    encoders="$(ffmpeg -hide_banner -encoders 2>/dev/null)" || {
        warn "ffmpeg -encoders failed"
        return 1
    }
    local missing=() codec found name
    # codec label : encoder alternatives in order of preference
    local -a wanted=(
        "H.264:libx264"
        "H.265:libx265"
        "VP8:libvpx"
        "VP9:libvpx-vp9"
        "AV1:libaom-av1 libsvtav1 librav1e"
        "Opus:libopus"
    )
    local entry
    for entry in "${wanted[@]}"; do
        codec="${entry%%:*}"
        found=""
        for name in ${entry#*:}; do
            # Lines look like " V....D libx264   libx264 H.264 ...".
            if grep -Eq "^ [A-Z.]{6} ${name}( |\$)" <<<"$encoders"; then
                found="${found:+$found, }$name"
            fi
        done
        if [[ -n "$found" ]]; then
            printf '  ffmpeg encoder %-5s : %s\n' "$codec" "$found"
        else
            printf '  ffmpeg encoder %-5s : MISSING (wanted one of: %s)\n' "$codec" "${entry#*:}"
            missing+=("$codec")
        fi
    done
    if ((${#missing[@]})); then
        warn "ffmpeg lacks encoders for: ${missing[*]}"
        return 1
    fi
}

# rustfmt and clippy on the default toolchain.
ensure_rust_components() {
    have cargo || { warn "cargo not found: install rustup and a stable toolchain first"; return 1; }
    local missing=()
    cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
    cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
    if ((${#missing[@]})); then
        have rustup || { warn "rustup not found; cannot add ${missing[*]}"; return 1; }
        log "adding rustup components: ${missing[*]}"
        rustup component add "${missing[@]}" || return 1
    fi
    log "$(cargo fmt --version)"
    log "$(cargo clippy --version)"
}

# A nightly toolchain (cargo-fuzz needs -Zsanitizer).
ensure_nightly() {
    if cargo +nightly --version >/dev/null 2>&1; then
        return 0
    fi
    have rustup || { warn "rustup not found; cannot install nightly"; return 1; }
    log "installing the nightly toolchain (minimal profile)"
    rustup toolchain install nightly --profile minimal </dev/null || return 1
}

# cargo-fuzz, from source with its own lock file.
ensure_cargo_fuzz() {
    if cargo fuzz --version >/dev/null 2>&1; then
        log "$(cargo fuzz --version)"
        return 0
    fi
    log "installing cargo-fuzz"
    cargo install cargo-fuzz --locked </dev/null || return 1
    log "$(cargo fuzz --version)"
}

# libFuzzer is C++; cargo-fuzz compiles it with the system C++ compiler.
ensure_cxx() {
    if have c++ || have g++ || have clang++; then
        return 0
    fi
    log "no C++ compiler; installing g++ with apt-get"
    apt_install g++
}
