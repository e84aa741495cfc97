#!/usr/bin/env bash
# Refreshes the vendored Redoc bundle (served at /docs) from the npm registry.
set -euo pipefail
version="${1:-2.5.4}"
cd "$(dirname "$0")/.."
dest=crates/openmyna-http/assets/redoc
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "redoc@$version" --silent >/dev/null && tar xzf redoc-*.tgz)
cp "$tmp/package/bundles/redoc.standalone.js" "$tmp/package/bundles/redoc.standalone.js.LICENSE.txt" "$dest/"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
sed -i "s/\`redoc\` [0-9.]*/\`redoc\` $version/" "$dest/README.md"
echo "Redoc $version vendored in $dest"
