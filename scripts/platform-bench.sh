#!/usr/bin/env bash
# The verification platform under load: a fresh server on SQLite (a small demo population), a
# resident with a virtual card, one application signed with the card (CMS), then `wrk` posting
# that document to POST /api/v1/platform/verifications — revocation by OCSP, then by CRL — and
# the OpenID Connect JWKS for comparison. Every check is a write (the 確認記録 and the holder's
# access-log entry in one transaction); all checks of one holder serialise on their access-log
# chain, so this is the worst case for one customer, not the installation's ceiling.
#
#   bash scripts/platform-bench.sh [path/to/openmyna] [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/openmyna}")
secs=${2:-10}
conns=${3:-8}
command -v wrk >/dev/null || { echo "platform-bench: wrk is required (apt install wrk)"; exit 1; }
[ -x "$bin" ] || { echo "platform-bench: no binary at $bin (cargo build --release -p openmyna)"; exit 1; }

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
OPENMYNA_DEMO_PERSONS=200 "$bin" serve --listen "127.0.0.1:$port" > server.log 2>&1 &
server=$!
for _ in $(seq 1 120); do
    curl -sf "127.0.0.1:$port/readyz" > /dev/null 2>&1 && [ -s openmyna-data/demo-tokens.json ] && break
    sleep 1
done
token() { python3 -c "import json; print(next(t['token'] for t in json.load(open('openmyna-data/demo-tokens.json')) if t['role'] == '$1'))"; }
muni=$(token municipality)
rp=$(token relying_party)
id=$(curl -s -X POST "127.0.0.1:$port/api/v1/registry/residents" -H "Authorization: Bearer $muni" \
    -H 'Content-Type: application/json' \
    -d '{"name":"山田 太郎","name_kana":"やまだ たろう","birth_date":"1990-05-01","sex":1,"address":{"municipality_code":"13101","postal_code":"1000013","text":"東京都千代田区霞が関一丁目1番1号"}}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$bin" card issue --resident "$id" --out card.json --auth-pin 1234 --sign-password abc123 > issue.log 2>&1
echo '普通預金口座開設申込書 ACCT-0001' > application.txt
"$bin" card sign --card card.json --key sign --pin abc123 --in application.txt --out application.p7s --cms > /dev/null

echo "platform-bench: $("$bin" --version), SQLite, wrk -t2 -c$conns -d${secs}s, $(nproc) cores"
for method in ocsp crl; do
    python3 -c "import json,base64; print(json.dumps({'purpose':'bench','document':base64.b64encode(open('application.p7s','rb').read()).decode(),'revocation':'$method'}))" > "body-$method.json"
    cat > "post-$method.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $rp"
local f = io.open("body-$method.json"); wrk.body = f:read("*a"); f:close()
EOF
    out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s "post-$method.lua" "http://127.0.0.1:$port/api/v1/platform/verifications")
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
    echo "platform check by ${method}: ${rps} checks/s, p50 ${p50}, p99 ${p99}, non-2xx ${non2xx:-0}"
done
out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/api/realms/main/protocol/openid-connect/certs")
echo "OIDC JWKS: $(echo "$out" | awk '/Requests\/sec/ {print $2}') requests/s, p99 $(echo "$out" | awk '$1 == "99%" {print $2}')"
verified=$(curl -s "127.0.0.1:$port/metrics" | awk -F' ' '/openmyna_platform_checks_total\{outcome="verified"\}/ {print $2}')
echo "checks recorded as verified (metrics): $verified"
