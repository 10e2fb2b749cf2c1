#!/usr/bin/env bash
# Fetches the nsfwjs npm package (MIT) without adding it to package.json and unpacks its
# MobileNetV2 TFJS weights (model.json + shard .bin files) to training/cache/nsfwjs/.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VERSION="${NSFWJS_VERSION:-4.3.0}"
TMP="$(mktemp -d)"
(cd "$TMP" && npm pack "nsfwjs@$VERSION" >/dev/null && tar xzf "nsfwjs-$VERSION.tgz")
OUT="$HERE/cache/nsfwjs"
mkdir -p "$OUT"
cp "$TMP/package/LICENSE" "$OUT/LICENSE"
node - "$TMP/package/dist/models" "$OUT" <<'JS'
const fs = require('fs'); const path = require('path');
const [src, out] = process.argv.slice(2);
for (const m of ['mobilenet_v2']) {
  const dir = path.join(src, m); fs.mkdirSync(path.join(out, m), { recursive: true });
  // The package ships each file as a UMD module exporting the JSON object / a base64 string.
  const model = require(path.join(dir, 'model.min.js'));
  fs.writeFileSync(path.join(out, m, 'model.json'), typeof model === 'string' ? model : JSON.stringify(model));
  for (const f of fs.readdirSync(dir).filter((f) => f.startsWith('group'))) {
    fs.writeFileSync(path.join(out, m, f.replace('.min.js', '.bin')), Buffer.from(require(path.join(dir, f)), 'base64'));
  }
}
JS
sha256sum "$OUT"/mobilenet_v2/*
rm -rf "$TMP"
