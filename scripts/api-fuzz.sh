#!/usr/bin/env bash
# API fuzzing from the OpenAPI document (schemathesis, from PyPI): a fresh demo server, then
# every operation of /openapi.json with generated valid and invalid input, once without a
# token and once with each role's demo token. Checks: no 5xx, and every answer's status,
# content type and body as the document says. Fails if any check fails or a case errs. One
# worker: with two, Hypothesis (describing its strategies) parses source code from both
# threads at once, which CPython 3.11's parser does not survive ("SystemError: AST constructor
# recursion depth mismatch", now and then in the municipality run).
#
#   bash scripts/api-fuzz.sh [path/to/openmyna] [examples per operation, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/debug/openmyna}")
examples=${2:-20}
command -v st >/dev/null || { echo "api-fuzz: schemathesis is needed (pip install schemathesis)"; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$bin" serve --listen "127.0.0.1:$port" --demo-persons 20 --data-dir "$work/data" > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 120); do
    curl -sf --max-time 2 "127.0.0.1:$port/readyz" >/dev/null 2>&1 && [ -s "$work/data/demo-tokens.json" ] && break
    sleep 0.5
done
# One token per role; the operator's last (its run may revoke tokens by id).
mapfile -t roles < <(python3 -c 'import json,sys
seen = []
for t in json.load(open(sys.argv[1])):
    if t["role"] not in seen: seen.append(t["role"])
seen.sort(key=lambda r: r == "operator")
print("\n".join(seen))' "$work/data/demo-tokens.json")
token() { python3 -c 'import json,sys; print(next(t["token"] for t in json.load(open(sys.argv[1])) if t["role"] == sys.argv[2]))' "$work/data/demo-tokens.json" "$1"; }
failed=0
printf '| caller | operations | test cases | failures |\n|---|---|---|---|\n'
for role in anonymous "${roles[@]}"; do
    headers=()
    [ "$role" = anonymous ] || headers=(-H "Authorization: Bearer $(token "$role")")
    set +e
    st run "http://127.0.0.1:$port/openapi.json" "${headers[@]}" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
        --phases examples,coverage,fuzzing -n "$examples" -w 1 --seed 20261203 \
        --suppress-health-check all --warnings off > "$work/$role.txt" 2>&1
    rc=$?
    set -e
    ops=$(grep -oE 'Tested: [0-9]+' "$work/$role.txt" | tail -n 1 | grep -oE '[0-9]+' || echo 0)
    cases=$(grep -oE '[0-9]+ generated' "$work/$role.txt" | tail -n 1 | grep -oE '[0-9]+' || echo 0)
    fails=$(grep -oE '[0-9]+ found [0-9]+ unique failures?' "$work/$role.txt" | tail -n 1 | grep -oE '^[0-9]+' || echo 0)
    printf '| %s | %s | %s | %s |\n' "$role" "$ops" "$cases" "$fails"
    if [ "$rc" -ne 0 ]; then
        failed=1
        grep -E '^(_+ |- ST|    Received|    Documented|\[[0-9]{3}\]|    `)' "$work/$role.txt" | head -60
        # Errors (a request that could not be made, a case that could not be generated) are
        # not counted as failures above: show what schemathesis said.
        sed -n '/^=* ERRORS =*$/,/^=* SUMMARY =*$/p' "$work/$role.txt" | cut -c1-300 | head -60
    fi
done
grep -E '" 5[0-9][0-9] |status=5[0-9][0-9]' "$work/server.log" | head -5 || true
[ "$failed" -eq 0 ] || { echo "api-fuzz: FAILED"; exit 1; }
echo "api-fuzz: every operation conforms to the document, no 5xx"
