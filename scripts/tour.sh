#!/usr/bin/env bash
# Runs the README's tour, as written, against a fresh server on a free port (not 8080): the
# shell blocks between "## A short tour" and "## Configuration" are taken from README.md, with
# the port put in and `cargo run --release -p openmyna --` replaced by the binary given (default
# target/debug/openmyna). Lines that wait for a person or hold the terminal are left out and
# listed: `open` (a browser), the kiosk (`--ui`), the PIN prompts (`terminal`, `portal login`),
# pcscd and the tools that need it (the PC/SC interop test covers them), and the commands that
# load a million residents or start a second server. Any failing command fails the tour.
#
#   bash scripts/tour.sh [path/to/openmyna]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin=$(realpath "${1:-target/debug/openmyna}")
[ -x "$bin" ] || { echo "tour: no binary at $bin (build it first: cargo build -p openmyna)"; exit 1; }

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# The tour's commands, as the README has them.
python3 "$root/scripts/tour.py" "$root/README.md" "$port" "$bin" > "$work/tour.sh"

cd "$work"
echo "tour: a fresh server on 127.0.0.1:$port in $work"
OPENMYNA_DEMO_PERSONS="${OPENMYNA_TOUR_PERSONS:-2000}" \
    "$bin" serve --listen "127.0.0.1:$port" > server.log 2>&1 &
server=$!
for _ in $(seq 1 300); do
    if curl -sf --max-time 5 "127.0.0.1:$port/readyz" > /dev/null 2>&1 \
        && [ -s openmyna-data/demo-tokens.json ]; then
        break
    fi
    kill -0 "$server" 2>/dev/null || { cat server.log; echo "tour: the server stopped"; exit 1; }
    sleep 1
done
curl -sf "127.0.0.1:$port/readyz" > /dev/null || { cat server.log; echo "tour: the server did not come up"; exit 1; }

if bash "$work/tour.sh" > tour.out 2>&1; then
    cat tour.out
    echo "tour: every command of the README's tour ran on port $port"
else
    cat tour.out
    echo "tour: a command of the README's tour failed (above)"
    exit 1
fi
