#!/usr/bin/env bash
# The replay benchmark: a log of EVENTS events (users signing up, in and out) on a fresh
# SQLite file and on a fresh PostgreSQL database, then `authlog projections rebuild sessions`
# on each: events per second, and how the rebuilt rows compare with the live table the
# inline projections built while the events were appended. See bench/README.md.
#
#   bench/replay.sh                      # 1,000,000 events on both backends
#   EVENTS=100000 bench/replay.sh        # a quicker run
#   BACKENDS=sqlite bench/replay.sh      # one backend
#
# Environment: EVENTS (1000000), USERS (50000), SEED (1), BACKENDS ("sqlite postgres"),
# POSTGRES_URL (postgres://postgres@127.0.0.1:5432, trust authentication; psql is used to
# create and drop the database), OUT (bench/results/replay-<time>), KEEP=1 keeps the
# databases.
set -euo pipefail

cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-1000000}
USERS=${USERS:-50000}
SEED=${SEED:-1}
BACKENDS=${BACKENDS:-"sqlite postgres"}
POSTGRES_URL=${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-bench/results/replay-$STAMP}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

echo "== building authlog (release)" >&2
BIN=$(cargo build --release --bin authlog --message-format=json \
    | sed -n 's/.*"executable":"\([^"]*\/authlog\)".*/\1/p' | tail -n 1)
[ -x "$BIN" ] || { echo "could not find the built authlog binary" >&2; exit 1; }

export AUTHLOG_LOG=${AUTHLOG_LOG:-warn}
SUMMARY="$OUT/summary.txt"
{
    echo "replay benchmark $STAMP: $EVENTS events, $USERS users, seed $SEED"
    echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} > "$SUMMARY"

run() { # backend url
    local backend=$1 url=$2
    echo "== $backend: generating $EVENTS events" >&2
    "$BIN" --database-url "$url" dev generate-events \
        --events "$EVENTS" --users "$USERS" --seed "$SEED" 2> >(tee "$OUT/$backend-generate.log" >&2)
    echo "== $backend: authlog projections rebuild sessions" >&2
    "$BIN" --database-url "$url" projections rebuild sessions \
        > "$OUT/$backend-rebuild.txt" 2> >(tee "$OUT/$backend-rebuild.log" >&2)
    cat "$OUT/$backend-rebuild.txt"
    { echo; echo "[$backend] load average $(cut -d' ' -f1-3 /proc/loadavg)"; cat "$OUT/$backend-rebuild.txt"; } >> "$SUMMARY"
}

for backend in $BACKENDS; do
    case $backend in
        sqlite)
            DB="$OUT/replay.db"
            rm -f "$DB" "$DB-wal" "$DB-shm"
            run sqlite "sqlite://$DB"
            [ "${KEEP:-0}" = 1 ] || rm -f "$DB" "$DB-wal" "$DB-shm"
            ;;
        postgres)
            NAME="authlog_replay_$(date +%s)_$$"
            psql "$POSTGRES_URL/postgres" -qc "CREATE DATABASE $NAME"
            run postgres "$POSTGRES_URL/$NAME"
            [ "${KEEP:-0}" = 1 ] || psql "$POSTGRES_URL/postgres" -qc "DROP DATABASE $NAME"
            ;;
        *) echo "unknown backend $backend" >&2; exit 2 ;;
    esac
done

echo
echo "== summary ($SUMMARY)"
cat "$SUMMARY"
