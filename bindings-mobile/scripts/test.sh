#!/usr/bin/env bash
# Builds siyu-mobile for the host, generates the Kotlin and Swift bindings
# (uniffi library mode), and runs the Kotlin tests (conformance runner, device
# API, error mapping) with Maven; compiles and runs the Swift smoke test when a
# Swift toolchain is present. Self-contained: needs cargo, a JDK (17+) and
# Maven; Maven fetches kotlin-maven-plugin, JUnit, and JNA from Maven
# Central into its local repository on the first run (offline-friendly after).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
gen="$here/build/generated"

cd "$root"
# One build gives the library (cdylib/staticlib) and the uniffi-bindgen tool.
cargo build -p siyu-mobile --features cli
# Rust-side tests of the binding (error mapping one-to-one with the core codes).
cargo test -q -p siyu-mobile --lib

case "$(uname -s)" in
  Darwin) lib="$target/debug/libsiyu_mobile.dylib" ;;
  *) lib="$target/debug/libsiyu_mobile.so" ;;
esac

rm -rf "$gen"
"$target/debug/uniffi-bindgen" generate --no-format --library "$lib" --language kotlin --out-dir "$gen/kotlin"
"$target/debug/uniffi-bindgen" generate --no-format --library "$lib" --language swift --out-dir "$gen/swift"
echo "bindings: Kotlin in ${gen#"$root"/}/kotlin, Swift in ${gen#"$root"/}/swift"

status=0
# Maven may prefix lines with ANSI resets; strip them so the conformance line is
# printed exactly (pipefail keeps Maven's exit status).
(cd "$here/kotlin-tests" && mvn -B -q -Dstyle.color=never test -Dsiyu.lib="$lib" 2>&1 | sed 's/\x1b\[[0-9;]*m//g') || status=1

if command -v swiftc >/dev/null 2>&1; then
  out="$here/build/swift-smoke"
  swiftc -module-name SiyuSmoke \
    -Xcc -fmodule-map-file="$gen/swift/SiyuFFI.modulemap" -I "$gen/swift" \
    -L "$(dirname "$lib")" -lsiyu_mobile \
    "$gen/swift/Siyu.swift" "$here/swift-tests/main.swift" -o "$out" || status=1
  if [ -x "$out" ]; then
    LD_LIBRARY_PATH="$(dirname "$lib")" DYLD_LIBRARY_PATH="$(dirname "$lib")" "$out" || status=1
  fi
else
  echo "swift: toolchain not present, Swift bindings generated but not compiled"
fi
exit $status
