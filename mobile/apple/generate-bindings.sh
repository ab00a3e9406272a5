#!/usr/bin/env bash
# Puts the UniFFI-generated Swift bindings where the package expects them:
#
#   Sources/Callseal/Callseal.swift        the Swift API (module Callseal)
#   build/headers/CallsealFFI.h            the C declarations of the library
#   build/headers/module.modulemap         module CallsealFFI, for the XCFramework
#
# Usage: generate-bindings.sh GENERATED_DIR, where GENERATED_DIR holds the
# output of `uniffi-bindgen generate --language swift` (scripts/test-mobile
# and build-xcframework.sh call it). None of these files is committed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
gen="${1:?usage: generate-bindings.sh GENERATED_DIR}"

mkdir -p "$here/Sources/Callseal" "$here/build/headers"
cp "$gen/Callseal.swift" "$here/Sources/Callseal/Callseal.swift"
cp "$gen/CallsealFFI.h" "$here/build/headers/CallsealFFI.h"
cp "$gen/CallsealFFI.modulemap" "$here/build/headers/module.modulemap"
echo "Swift bindings in $here/Sources/Callseal, headers in $here/build/headers"
