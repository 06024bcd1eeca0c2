#!/usr/bin/env bash
# Builds the Node addon and runs the npm package's tests and conformance runner.
# Self-contained: needs only cargo and node (>= 18); installs nothing (the
# package has no npm dependencies). SIYU_PROFILE=release builds with --release.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
profile="${SIYU_PROFILE:-debug}"

cd "$root"
if [ "$profile" = "release" ]; then
  cargo build --release -p siyu-node
else
  cargo build -p siyu-node
fi
SIYU_PROFILE="$profile" node "$here/scripts/copy-addon.js"

cd "$here"
status=0
# The conformance runner prints `conformance[node]: N passed, M failed` itself.
node test/conformance.test.mjs || status=1
node --test --test-reporter=spec test/api.test.mjs test/types.test.mjs test/backend.test.mjs || status=1
exit $status
