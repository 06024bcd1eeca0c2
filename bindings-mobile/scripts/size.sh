#!/usr/bin/env bash
# Builds the size-tuned mobile library (profile `mobile`: opt-level z, fat LTO,
# one codegen unit, stripped, panic = unwind) for the host and prints the size
# of the stripped cdylib against the 3 MB budget of issue 7. Takes ~2-5 min
# (fat LTO), so `make test` does not run it; see docs/mobile.md, "Binary size".
#
#   bash bindings-mobile/scripts/size.sh                        # device default: no IANA database
#   CHRONO_TZ_TIMEZONE_FILTER='(Asia/(Shanghai|Hong_Kong|Macau|Taipei)|UTC)' \
#     bash bindings-mobile/scripts/size.sh --features tz-filter # only the app's zones
#   bash bindings-mobile/scripts/size.sh --features tz          # the full IANA database
#   SIYU_LINKER=system bash bindings-mobile/scripts/size.sh     # the system linker, no ICF/RELR
#
# Linker: by default (on Linux) the toolchain's own lld (rust-lld, the linker
# of the Android NDK) with identical-code folding (`--icf=all`) and packed
# relative relocations (`-z pack-relative-relocs`, RELR) — the flags an Android
# build passes (docs/mobile.md). Extra arguments go to cargo (features).
# Prints `mobile-size: N bytes (X.XX MB) ...` and exits 1 when N > 3,000,000.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
budget=3000000
linker="${SIYU_LINKER:-lld}"

cd "$root"
host="$(rustc -vV | sed -n 's/^host: //p')"
rustc_args=()
if [ "$linker" = "lld" ]; then
  case "$host" in
    *-linux-*)
      gcc_ld="$(rustc --print sysroot)/lib/rustlib/$host/bin/gcc-ld"
      rustc_args=(-C "link-arg=-B$gcc_ld" -C link-arg=-fuse-ld=lld
        -C link-arg=-Wl,--icf=all -C link-arg=-Wl,-z,pack-relative-relocs)
      ;;
    *) echo "size: lld flags are set up for Linux hosts only; using the system linker"; linker=system ;;
  esac
fi

# Only the final crate sees the linker flags, so dependencies stay cached.
cargo rustc -q --profile mobile -p siyu-mobile --lib --crate-type cdylib \
  --no-default-features "$@" -- "${rustc_args[@]}"

case "$(uname -s)" in
  Darwin) lib="$target/mobile/libsiyu_mobile.dylib" ;;
  *) lib="$target/mobile/libsiyu_mobile.so" ;;
esac
out="$target/mobile/libsiyu_mobile.stripped"
cp "$lib" "$out"
# The profile strips already; strip again in case CARGO_PROFILE_MOBILE_STRIP overrode it.
if command -v strip >/dev/null 2>&1; then strip "$out"; fi
bytes="$(wc -c <"$out" | tr -d ' ')"
features="${*:-(none)}"
printf 'mobile-size: %s bytes (%s MB) features: %s; linker: %s%s; budget %s bytes: %s\n' \
  "$bytes" "$(awk "BEGIN { printf \"%.2f\", $bytes / 1000000 }")" "$features" "$linker" \
  "${CHRONO_TZ_TIMEZONE_FILTER:+; CHRONO_TZ_TIMEZONE_FILTER=$CHRONO_TZ_TIMEZONE_FILTER}" \
  "$budget" "$([ "$bytes" -le "$budget" ] && echo ok || echo OVER)"
[ "$bytes" -le "$budget" ]
