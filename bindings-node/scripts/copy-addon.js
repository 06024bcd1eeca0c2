'use strict';
// Copies the cargo-built addon (target/<profile>/libsiyu_node.so|.dylib|siyu_node.dll)
// to bindings-node/siyu.node. Profile from SIYU_PROFILE (debug|release, default debug).
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const target = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
const profile = process.env.SIYU_PROFILE || 'debug';
const names = { linux: 'libsiyu_node.so', darwin: 'libsiyu_node.dylib', win32: 'siyu_node.dll' };
const src = path.join(target, profile, names[process.platform] || names.linux);
const dst = path.join(__dirname, '..', 'siyu.node');
if (!fs.existsSync(src)) {
  console.error(`copy-addon: ${src} not found; run cargo build -p siyu-node first`);
  process.exit(1);
}
fs.copyFileSync(src, dst);
console.log(`copy-addon: ${path.relative(process.cwd(), src)} -> ${path.relative(process.cwd(), dst)}`);
