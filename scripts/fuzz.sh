#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets) for a bounded time each, from the seeds kept in
# fuzz/corpus/<target> (read only: what the run finds goes to a temporary corpus), and fails
# on the first crash, leaving the input under fuzz/artifacts/<target>/ (make it a regression
# test). cargo-fuzz on the stable toolchain needs RUSTC_BOOTSTRAP=1 (its flags are nightly's);
# the targets are built without a sanitizer (the code is safe Rust: panics, overflows and
# endless loops are what is looked for; add -s address for the C of aws-lc).
#
#   bash scripts/fuzz.sh [seconds per target, default 10] [target …]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-10}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(ocsp_request cms crl insurer_csv insurer_json card_file apdu)
command -v cargo-fuzz >/dev/null || { echo "fuzz: cargo-fuzz is needed (cargo install cargo-fuzz --locked)"; exit 1; }
export RUSTC_BOOTSTRAP=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo fuzz build -s none -O >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; exit 1; }
printf '| target | runs | runs/s | coverage (edges) | corpus | crashes |\n|---|---|---|---|---|---|\n'
for t in "${targets[@]}"; do
    mkdir -p "$work/$t"
    if ! cargo fuzz run -s none -O "$t" "$work/$t" "corpus/$t" -- \
        -max_total_time="$seconds" -max_len=40000 -timeout=10 -rss_limit_mb=2048 \
        > "$work/$t.log" 2>&1; then
        tail -40 "$work/$t.log"
        echo "fuzz: $t CRASHED; the input is in fuzz/artifacts/$t/"
        exit 1
    fi
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$work/$t.log" | tail -n 1)
    runs=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$done_line")
    cov=$(sed -E 's/.*cov: ([0-9]+).*/\1/' <<<"$done_line")
    corp=$(sed -E 's/.*corp: ([0-9]+\/[0-9A-Za-z]+).*/\1/' <<<"$done_line")
    rate=$(sed -E 's/.*exec\/s: ([0-9]+).*/\1/' <<<"$done_line")
    printf '| %s | %s | %s | %s | %s | 0 |\n' "$t" "$runs" "$rate" "$cov" "$corp"
done
