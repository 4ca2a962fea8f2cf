#!/usr/bin/env bash
# Where the CPU goes under sign-in load: how much of the machine the Argon2id threads get, and
# how many milliseconds of CPU each sign-in costs outside hashing, in authlog, in PostgreSQL
# and in everything else (wrk, the kernel's network stack, other processes).
#
#   bench/cpu-split.sh [sqlite|postgres] [BINARY...]
#   env: WINDOW=6         seconds measured, once the load is steady
#        DURATION=16      seconds of wrk load (must cover the preparation, 2 s and WINDOW)
#        PAIRS=1          with two binaries or more, how many times to run them in turn
#        PG_URL=postgres://postgres@127.0.0.1:5432   PostgreSQL server (trust auth)
#        REFERENCE_DIR=<repo>/../shared/reference    for the shared bench.sh
#        NAME=VALUE ...   extra environment for authlog: pass them as AUTHLOG_ENV="A=1 B=2"
#
# With no binary, it builds and measures target/release/authlog. Give two binaries (say the
# build before a change and the one after) to compare them: runs alternate, so the machine's
# drift over minutes hits both alike. This machine's throughput moves by 10-25 % within
# minutes; the shares and per-sign-in costs printed here move far less, which is why changes
# to the sign-in path are compared with them rather than with req/s.
#
# Figures come from /proc: the server's threads (`/proc/PID/task/*/stat`, those named
# `argon2-*` are the hashing pool), every `postgres` process, and `/proc/stat` for the
# machine; sign-ins are counted as rows of `sessions` at both ends of the window. Only
# loopback addresses are used.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BACKEND="${1:-sqlite}"
shift || true
WINDOW="${WINDOW:-6}" DURATION="${DURATION:-16}" PAIRS="${PAIRS:-1}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PG_URL="${PG_URL%/}"
REFERENCE_DIR="${REFERENCE_DIR:-$ROOT/../shared/reference}"
TICK="$(getconf CLK_TCK)"

die() { echo "cpu-split.sh: $*" >&2; exit 1; }
case "$BACKEND" in sqlite | postgres) ;; *) die "backend must be sqlite or postgres" ;; esac
for tool in curl wrk node; do command -v "$tool" >/dev/null || die "$tool is required"; done
[ "$BACKEND" = sqlite ] && { command -v sqlite3 >/dev/null || die "sqlite3 is required"; }
[ "$BACKEND" = postgres ] && { command -v psql >/dev/null || die "psql is required"; }
[ -x "$REFERENCE_DIR/bench/bench.sh" ] || die "no bench.sh under $REFERENCE_DIR"

BINARIES=("$@")
if [ "${#BINARIES[@]}" -eq 0 ]; then
  TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
  (cd "$ROOT" && cargo build --release -j2 --bin authlog >&2)
  BINARIES=("$TARGET/release/authlog")
fi

SECRET="$("${BINARIES[0]}" secret)"
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/authlog-cpu-split.XXXXXX")"
SERVER_PID="" WRK_PID="" DB_NAME=""
cleanup() {
  [ -n "$WRK_PID" ] && kill "$WRK_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -n "$DB_NAME" ] && psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# CPU ticks: hashing threads, all server threads, all postgres processes, machine busy.
ticks() {
  local hashing=0 server=0 pg=0 task stat fields
  for task in /proc/"$SERVER_PID"/task/*; do
    read -r stat <"$task/stat" 2>/dev/null || continue
    fields=(${stat##*) })
    server=$((server + fields[11] + fields[12]))
    case "$(cat "$task/comm" 2>/dev/null)" in argon2-*) hashing=$((hashing + fields[11] + fields[12])) ;; esac
  done
  for pid in $(pgrep -x postgres || true); do
    read -r stat <"/proc/$pid/stat" 2>/dev/null || continue
    fields=(${stat##*) })
    pg=$((pg + fields[11] + fields[12]))
  done
  local _cpu user nice system idle iowait irq softirq rest
  read -r _cpu user nice system idle iowait irq softirq rest </proc/stat
  echo "$hashing $server $pg $((user + nice + system + irq + softirq))"
}

sessions() {
  if [ "$BACKEND" = postgres ]; then
    psql "$PG_URL/$DB_NAME" -Atqc "SELECT COUNT(*) FROM sessions"
  else
    sqlite3 "$SCRATCH/run.db" "SELECT COUNT(*) FROM sessions"
  fi
}

measure() {
  local binary="$1" port url
  port="$(free_port)"
  rm -f "$SCRATCH"/run.db*
  if [ "$BACKEND" = postgres ]; then
    DB_NAME="authlog_cpu_split_$$_$RANDOM"
    psql "$PG_URL/postgres" -qc "CREATE DATABASE \"$DB_NAME\"" >/dev/null
    url="$PG_URL/$DB_NAME"
  else
    url="sqlite://$SCRATCH/run.db"
  fi
  # shellcheck disable=SC2086 # AUTHLOG_ENV is a list of NAME=VALUE words
  (cd "$SCRATCH" && exec env -i PATH="$PATH" HOME="$HOME" \
    BETTER_AUTH_SECRET="$SECRET" BETTER_AUTH_URL="http://127.0.0.1:$port" \
    BETTER_AUTH_TRUSTED_ORIGINS="http://localhost:$port" ${AUTHLOG_ENV:-} \
    "$binary" serve --host 127.0.0.1 --port "$port" --database-url "$url") >"$SCRATCH/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$port/api/auth/ok" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SCRATCH/server.log" >&2; die "server exited"; }
    sleep 0.2
  done
  (cd "$REFERENCE_DIR" && SCENARIOS=sign-in RUNS=1 DURATION="${DURATION}s" OUT="$SCRATCH/out.md" \
    bench/bench.sh "http://127.0.0.1:$port" >"$SCRATCH/bench.log" 2>&1) &
  WRK_PID=$!
  # The load has started once sessions grow past the prepared users' own.
  local before
  before="$(sessions)"
  for _ in $(seq 1 300); do
    sleep 0.2
    [ $(($(sessions) - before)) -gt 60 ] && break
  done
  sleep 2
  local c0 c1 t0 t1
  c0="$(sessions)"; t0=($(ticks))
  sleep "$WINDOW"
  t1=($(ticks)); c1="$(sessions)"
  wait "$WRK_PID" || true
  WRK_PID=""
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  if [ -n "$DB_NAME" ]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null
    DB_NAME=""
  fi
  awk -v n=$((c1 - c0)) -v w="$WINDOW" -v tick="$TICK" -v bin="$binary" \
    -v h=$((t1[0] - t0[0])) -v s=$((t1[1] - t0[1])) -v p=$((t1[2] - t0[2])) -v m=$((t1[3] - t0[3])) '
    BEGIN {
      if (n <= 0 || m <= 0) { print bin ": no sign-ins counted in the window"; exit }
      ms = 1000 / tick
      printf "%s\n  sign-ins/s %.1f | hashing threads: %.3f of the machine'"'"'s busy CPU, %.3f of the server'"'"'s, %.2f ms per hash\n", bin, n / w, h / m, h / s, h * ms / n
      printf "  CPU per sign-in outside hashing (ms): server %.3f, postgres %.3f, everything else %.3f\n", (s - h) * ms / n, p * ms / n, (m - s - p) * ms / n
    }'
}

for _ in $(seq 1 "$PAIRS"); do
  for binary in "${BINARIES[@]}"; do
    measure "$binary"
  done
done
