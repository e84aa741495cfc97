#!/usr/bin/env bash
# The crash harness (tests/it/crash.rs) on PostgreSQL with the database server itself crashed
# (pg_ctl restart -m immediate) in the middle of the load, besides the openmyna kills: on a
# throwaway cluster on a free port (Debian's postgresql: initdb, pg_ctl, run as the postgres
# user; needs root), fsync and synchronous_commit on, as docs/SCALING.md recommends.
#
#   bash scripts/pg-crash.sh [kills, default 12]
# Extra arguments after the kills go to the test binary (e.g. --nocapture).
set -euo pipefail
cd "$(dirname "$0")/.."
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pgbin/initdb" ] || { echo "pg-crash: PostgreSQL's server binaries are needed (apt install postgresql)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "pg-crash: run as root (the cluster runs as the postgres user)"; exit 1; }
kills=${1:-12}
shift || true

# The test binary, built as the test command builds it (PostgreSQL tests on).
export OPENMYNA_TEST_DATABASE_URL=${OPENMYNA_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
bin=$(cargo test -p openmyna --test it --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "it" and m.get("executable"):
        print(m["executable"])')
[ -x "$bin" ] || { echo "pg-crash: could not build the integration tests"; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
chown postgres: "$work"
chmod 755 "$work"
port=$(free_port)
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
    [ -d "$work/db" ] && as_pg "$pgbin/pg_ctl" -D "$work/db" stop -m immediate >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
as_pg "$pgbin/initdb" -D "$work/db" -A trust -U postgres >/dev/null
cat >> "$work/db/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$work'
fsync = on
synchronous_commit = on
CONF
as_pg "$pgbin/pg_ctl" -D "$work/db" -l "$work/db.log" -w start >/dev/null
echo "pg-crash: private PostgreSQL on $port; $kills openmyna kills and one PostgreSQL crash-restart"
OPENMYNA_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres" \
OPENMYNA_TEST_REQUIRE_POSTGRES=1 \
OPENMYNA_TEST_CRASH_KILLS="$kills" \
OPENMYNA_TEST_CRASH_PG_RESTART="runuser -u postgres -- $pgbin/pg_ctl -D $work/db -l $work/db.log -m immediate -w restart >/dev/null" \
    "$bin" --exact crash::kills_lose_nothing_acknowledged::postgres --nocapture "$@"
