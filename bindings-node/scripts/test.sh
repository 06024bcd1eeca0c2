#!/usr/bin/env bash
# Builds the Node addon and runs the npm package's tests and conformance runner.
# Needs cargo, node (>= 18) and npm: the package has no runtime dependencies;
# its devDependencies (`apache-arrow` for the Arrow IPC tests, `typescript` to
# compile index.d.ts under --strict) are installed from package-lock.json on the
# first run. SIYU_PROFILE=release builds with --release.
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
if [ ! -d node_modules/apache-arrow ] || [ ! -d node_modules/typescript ]; then
  npm ci --no-audit --no-fund
fi
status=0
# The conformance runner prints `conformance[node]: N passed, M failed` itself.
node test/conformance.test.mjs || status=1
node --test --test-reporter=spec test/api.test.mjs test/types.test.mjs test/backend.test.mjs test/arrow.test.mjs test/envelopes.test.mjs test/wire.test.mjs test/typescript.test.mjs || status=1
exit $status
