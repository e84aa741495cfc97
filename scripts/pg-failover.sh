#!/usr/bin/env bash
# Failover without loss (issue 20): openmyna on a PostgreSQL primary with a synchronous
# streaming standby; revocations are sent while the primary crashes (pg_ctl stop -m immediate)
# and the openmyna server is killed (-9); the standby is promoted, openmyna restarts on it,
# and every revocation openmyna acknowledged (200) must be there — and OCSP must say revoked.
#
# Two throwaway clusters on free ports under a temporary directory (Debian's postgresql:
# initdb, pg_ctl, pg_basebackup, run as the postgres user; needs root). The primary has
# synchronous_standby_names = 'standby1' and synchronous_commit = on: a commit is acknowledged
# only once the standby has flushed it, so an acknowledged revocation survives the primary.
# docs/SCALING.md ("Failover") explains the settings.
#
#   bash scripts/pg-failover.sh [path/to/openmyna] [certificates, default 200]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/debug/openmyna}")
[ -x "$bin" ] || { echo "failover: no binary at $bin"; exit 1; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pgbin/initdb" ] || { echo "failover: PostgreSQL's server binaries are needed (apt install postgresql)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "failover: run as root (the clusters run as the postgres user)"; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
chown postgres: "$work"
chmod 755 "$work"
p1=$(free_port); p2=$(free_port); port=$(free_port)
server=""
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
    [ -n "$server" ] && kill -9 "$server" 2>/dev/null
    for c in primary standby; do
        [ -d "$work/$c" ] && as_pg "$pgbin/pg_ctl" -D "$work/$c" stop -m immediate >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

echo "failover: primary on $p1, synchronous standby on $p2, openmyna on $port ($work)"
as_pg "$pgbin/initdb" -D "$work/primary" -A trust -U postgres >/dev/null
cat >> "$work/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $p1
unix_socket_directories = '$work'
wal_level = replica
max_wal_senders = 4
synchronous_commit = on
fsync = on
CONF
as_pg "$pgbin/pg_ctl" -D "$work/primary" -l "$work/primary.log" -w start >/dev/null
as_pg "$pgbin/createdb" -h 127.0.0.1 -p "$p1" -U postgres openmyna
as_pg "$pgbin/pg_basebackup" -h 127.0.0.1 -p "$p1" -U postgres -D "$work/standby" -R -X stream -c fast
cat >> "$work/standby/postgresql.conf" <<CONF
port = $p2
CONF
echo "primary_conninfo = 'host=127.0.0.1 port=$p1 user=postgres application_name=standby1'" \
    >> "$work/standby/postgresql.auto.conf"
as_pg "$pgbin/pg_ctl" -D "$work/standby" -l "$work/standby.log" -w start >/dev/null
# Synchronous once the standby is there (before, every commit would wait for it).
psql -h 127.0.0.1 -p "$p1" -U postgres -qAtc "ALTER SYSTEM SET synchronous_standby_names = 'standby1'" >/dev/null
psql -h 127.0.0.1 -p "$p1" -U postgres -qAtc "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 1 30); do
    state=$(psql -h 127.0.0.1 -p "$p1" -U postgres -qAtc \
        "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'")
    [ "$state" = sync ] && break
    sleep 1
done
[ "$state" = sync ] || { echo "failover: the standby is not synchronous ($state)"; exit 1; }
echo "failover: replication is synchronous"

start_server() {
    "$bin" serve --listen "127.0.0.1:$port" --database-url "$1" --demo-persons 1 \
        --data-dir "$work/data" >> "$work/server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 120); do
        curl -sf --max-time 2 "127.0.0.1:$port/readyz" >/dev/null 2>&1 \
            && [ -s "$work/data/demo-tokens.json" ] && return 0
        kill -0 "$server" 2>/dev/null || { tail -20 "$work/server.log"; echo "failover: the server stopped"; exit 1; }
        sleep 0.5
    done
    tail -20 "$work/server.log"; echo "failover: the server did not become ready"; exit 1
}
start_server "postgres://postgres@127.0.0.1:$p1/openmyna"
token() { python3 -c 'import json,sys; print(next(t["token"] for t in json.load(open(sys.argv[1])) if t["role"] == sys.argv[2]))' "$work/data/demo-tokens.json" "$1"; }
muni=$(token municipality)

# Certificates to revoke: a resident and a card each (one example public key for all).
key=$(openssl genrsa 2048 2>/dev/null | openssl rsa -pubout -outform DER 2>/dev/null | base64 -w0)
n=${2:-200}
: > "$work/serials"
for i in $(seq 1 "$n"); do
    id=$(curl -sf -X POST "127.0.0.1:$port/api/v1/registry/residents" -H "Authorization: Bearer $muni" \
        -H 'Content-Type: application/json' \
        -d "{\"name\":\"障害 太郎\",\"name_kana\":\"しょうがい たろう\",\"birth_date\":\"1980-01-01\",\"sex\":1,\"address\":{\"municipality_code\":\"13101\",\"text\":\"東京都千代田区一番町$i\"}}" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    curl -sf -X POST "127.0.0.1:$port/api/v1/jpki/cards" -H "Authorization: Bearer $muni" \
        -H 'Content-Type: application/json' \
        -d "{\"resident_id\":$id,\"auth_public_key\":\"$key\"}" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["authentication"]["serial"])' >> "$work/serials"
done
echo "failover: $n certificates issued"

# Revocations in flight while the primary crashes: each 200 is an acknowledgement.
: > "$work/acked"
(
    while read -r s; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST \
            "127.0.0.1:$port/api/v1/jpki/certificates/$s/revoke" -H "Authorization: Bearer $muni" \
            -H 'Content-Type: application/json' -d '{"reason":"keyCompromise"}' || true)
        [ "$code" = 200 ] && echo "$s" >> "$work/acked"
    done < "$work/serials"
) &
load=$!
# Let about half of them through, then crash the primary and the server.
until [ "$(wc -l < "$work/acked")" -ge $((n / 2)) ]; do sleep 0.05; done
as_pg "$pgbin/pg_ctl" -D "$work/primary" stop -m immediate >/dev/null
kill -9 "$server"; server=""
wait "$load" || true
acked=$(wc -l < "$work/acked")
echo "failover: the primary crashed and the server was killed; $acked of $n revocations acknowledged"

as_pg "$pgbin/pg_ctl" -D "$work/standby" -w promote >/dev/null
echo "failover: the standby is promoted"
start_server "postgres://postgres@127.0.0.1:$p2/openmyna"
missing=0
while read -r s; do
    status=$(curl -sf "127.0.0.1:$port/api/v1/jpki/certificates/$s" -H "Authorization: Bearer $muni" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    [ "$status" = revoked ] || { echo "failover: LOST: $s is $status after promotion"; missing=$((missing + 1)); }
done < "$work/acked"
# OCSP on the promoted database says revoked for the last acknowledged one.
last=$(tail -n 1 "$work/acked")
curl -sf "127.0.0.1:$port/ca/auth.crt" | openssl x509 -inform DER -out "$work/root.pem"
curl -sf "127.0.0.1:$port/api/v1/jpki/certificates/$last" -H "Authorization: Bearer $muni" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["certificate_pem"])' > "$work/last.pem"
ocsp=$(openssl ocsp -issuer "$work/root.pem" -cert "$work/last.pem" -url "http://127.0.0.1:$port/ocsp/auth" \
    -CAfile "$work/root.pem" 2>&1 | grep "$work/last.pem" || true)
echo "failover: OCSP after promotion: ${ocsp#"$work/"}"
case "$ocsp" in *revoked*) ;; *) echo "failover: OCSP does not say revoked"; missing=$((missing + 1)) ;; esac
if [ "$missing" -ne 0 ]; then
    echo "failover: FAILED: $missing acknowledged revocations missing after promotion"
    exit 1
fi
echo "failover: every acknowledged revocation ($acked of $acked) is present after promotion; OCSP agrees"
