#!/usr/bin/env bash
# Regenerates crates/openmyna-ids/data/zengin.txt, the directory of Japanese financial
# institutions and their branches (全銀協の金融機関コード・店番), from the npm package
# zengin-code (MIT, by Sho Kusano; data from the Zengin-Net code list). The portal's account
# form names the bank and branch from it and refuses codes it does not hold.
#
#   bash scripts/zengin.sh [version]     # default: the version the file was made from
#
# Format: a line "BBBB<TAB>name" starts an institution; the lines after it that begin with a
# TAB are its branches, "<TAB>CCC<TAB>name". Names as the list writes them (without 銀行).
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-1.0.0-p20260824}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "zengin-code@$version" >/dev/null && tar xzf zengin-code-*.tgz)
out=crates/openmyna-ids/data/zengin.txt
node -e '
const d = require(process.argv[1]);
const lines = [`# zengin-code ${process.argv[2]} (MIT, Copyright (c) 2015 Sho Kusano); regenerate with scripts/zengin.sh`];
for (const b of Object.keys(d).sort()) {
  lines.push(`${b}\t${d[b].name}`);
  for (const c of Object.keys(d[b].branches || {}).sort()) lines.push(`\t${c}\t${d[b].branches[c].name}`);
}
process.stdout.write(lines.join("\n") + "\n");
' "$work/package/lib/zengin-data.js" "$version" > "$out"
echo "wrote $out: $(grep -c -v $'^[\t#]' "$out") institutions, $(grep -c $'^\t' "$out") branches"
