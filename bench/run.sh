#!/usr/bin/env bash
# Benchmarks authlog against the reference Better Auth server, in one run on this machine.
#
#   bench/run.sh
#   env: RUNS=3 DURATION=10s                 passed to the shared bench.sh (median of RUNS)
#        THREADS=2 CONNECTIONS=32 N_USERS=50 TIMEOUT=10s   wrk settings, as bench.sh
#        SCENARIOS="get-session sign-in sign-up"
#        SERVERS="reference authlog-sqlite authlog-sqlite-nocache authlog-postgres
#                 authlog-postgres-nocache reference-cookie-cache authlog-sqlite-cache-compact
#                 authlog-sqlite-cache-jwt authlog-sqlite-cache-jwe authlog-postgres-cache-compact
#                 authlog-postgres-nats-2x hello"   subset, in this order (-nocache: authlog with
#                 AUTHLOG_SESSION_CACHE_TTL_MS=0, get-session only; *-cache*: the cookie cache on,
#                 get-session and get-session-cache; -nats-2x: two authlog processes on one
#                 PostgreSQL database and NATS, the load split across both)
#        NATS_URL=nats://127.0.0.1:4222      JetStream server for authlog-postgres-nats-2x
#        ARGON2_SECONDS=10                   length of the Argon2id limit measurement
#        IDLE_WAIT=300 IDLE_BUSY=10          wait up to IDLE_WAIT s before each measurement for
#                                            the machine to be at most IDLE_BUSY % busy
#        RETRIES=2                           measure a server (or the Argon2 limit) again when
#                                            other work ran during it
#        REFERENCE_DIR=<repo>/../shared/reference   the reference folder (read only is fine)
#        PG_URL=postgres://postgres@127.0.0.1:5432  PostgreSQL server (trust auth)
#        REF_PORT SQLITE_PORT PG_PORT PG_PORT_B HELLO_PORT   fixed ports (default: free ones)
#        BUILD_TIMEOUT=3600 NPM_TIMEOUT=900  bounds in seconds
#        KEEP_SCRATCH=1                      keep the scratch directory
#
# Servers run one after another, never two at once (the machine is small and wrk shares it),
# except the two instances of authlog-postgres-nats-2x, which are measured together.
# Only loopback addresses are used. The table goes to bench/results/<timestamp>.md and stdout;
# the raw wrk output, server logs and the Argon2 line go to bench/results/<timestamp>/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
export RUNS="${RUNS:-3}" DURATION="${DURATION:-10s}"
export THREADS="${THREADS:-2}" CONNECTIONS="${CONNECTIONS:-32}" N_USERS="${N_USERS:-50}" TIMEOUT="${TIMEOUT:-10s}"
SCENARIOS="${SCENARIOS:-get-session sign-in sign-up}"
ALL_SERVERS="reference authlog-sqlite authlog-sqlite-nocache authlog-postgres authlog-postgres-nocache
  reference-cookie-cache authlog-sqlite-cache-compact authlog-sqlite-cache-jwt authlog-sqlite-cache-jwe
  authlog-postgres-cache-compact authlog-postgres-nats-2x hello"
SERVERS="${SERVERS:-$ALL_SERVERS}"
ARGON2_SECONDS="${ARGON2_SECONDS:-10}"
IDLE_WAIT="${IDLE_WAIT:-300}" IDLE_BUSY="${IDLE_BUSY:-10}" RETRIES="${RETRIES:-2}"
REFERENCE_DIR="${REFERENCE_DIR:-$ROOT/../shared/reference}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PG_URL="${PG_URL%/}"
NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"
BUILD_TIMEOUT="${BUILD_TIMEOUT:-3600}"
NPM_TIMEOUT="${NPM_TIMEOUT:-900}"
CACHE="${AUTHLOG_BENCH_CACHE:-$HOME/.cache/authlog-bench}"
TS="$(date +%Y%m%d-%H%M%S)"
RESULTS="$BENCH/results"
OUT_MD="$RESULTS/$TS.md"
OUT_RAW="$RESULTS/$TS"

log() { echo "== $*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }

for tool in cargo node npm curl wrk flock; do
  command -v "$tool" >/dev/null || die "$tool is required (wrk: apt-get install wrk)"
done
[ -x "$REFERENCE_DIR/bench/bench.sh" ] || die "no shared benchmark at $REFERENCE_DIR/bench/bench.sh (set REFERENCE_DIR)"
REFERENCE_DIR="$(cd "$REFERENCE_DIR" && pwd)"
case "$PG_URL" in
  postgres://*@127.*|postgres://*@localhost*|postgres://*@\[::1\]*) ;;
  *) die "PG_URL must point at a loopback address: $PG_URL" ;;
esac
case "$NATS_URL" in
  nats://127.*|nats://localhost*|nats://\[::1\]*) ;;
  *) die "NATS_URL must point at a loopback address: $NATS_URL" ;;
esac

# One benchmark at a time on this machine, whoever starts it.
mkdir -p "$CACHE" "$RESULTS"
exec 9>"$CACHE/run.lock"
flock -n 9 || die "another bench/run.sh is running (lock $CACHE/run.lock)"

SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/authlog-bench.XXXXXX")"
mkdir -p "$OUT_RAW"
MANIFEST="$SCRATCH/servers.jsonl"
ARGON2_JSON="$OUT_RAW/argon2.json"
: >"$MANIFEST"
: >"$ARGON2_JSON"

# What is running right now, for the exit trap.
SERVER_PID=""
SERVER_PID_B=""
WRK_PIDS=""
NATS_STREAM=""
REF_PORT_RUNNING=""
PG_DB=""
PEAK=""
BUSY=""

# write_report NOTE: the markdown table of everything measured so far into $OUT_MD.
write_report() {
  {
    echo "# authlog benchmark $TS${1:+ ($1)}"
    echo
    echo "- commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), wrk and each server share the cores"
    echo "- wrk: threads=$THREADS connections=$CONNECTIONS duration=$DURATION runs=$RUNS (median) users=$N_USERS timeout=$TIMEOUT"
    echo "- servers one at a time; quote ratios from this run, not absolute figures"
  } >"$SCRATCH/header.md"
  IDLE_BUSY="$IDLE_BUSY" ARGON2_BUSY="${ARGON2_BUSY:-}" ARGON2_CPU="${ARGON2_CPU:-}" \
    node "$BENCH/report.mjs" "$MANIFEST" "$ARGON2_JSON" "$SCRATCH/header.md" >"$OUT_MD"
}

cleanup() {
  local rc=$?
  set +e
  # Interrupted or bounded by `timeout`: keep what was measured, marked incomplete.
  if [ "$rc" != 0 ] && [ -s "$MANIFEST" ]; then
    write_report "incomplete: stopped with status $rc" && echo "(partial table written to $OUT_MD)" >&2
  fi
  local pid
  for pid in $WRK_PIDS; do kill "$pid" 2>/dev/null; done
  for pid in $SERVER_PID $SERVER_PID_B; do
    kill -0 "$pid" 2>/dev/null || continue
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  if [ -n "$REF_PORT_RUNNING" ]; then
    PORT="$REF_PORT_RUNNING" PID_FILE="$SCRATCH/reference.pid" "$REF/reference/stop.sh" >/dev/null
  fi
  [ -n "$PG_DB" ] && psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null
  [ -n "$NATS_STREAM" ] && node "$BENCH/nats.mjs" delete "$NATS_URL" "$NATS_STREAM"
  if [ "${KEEP_SCRATCH:-0}" = 1 ]; then echo "scratch kept: $SCRATCH" >&2; else rm -rf "$SCRATCH"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers ------------------------------------------------------------------------------

free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Exits unless nothing listens on 127.0.0.1:$1.
require_free_port() {
  if (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    die "port $1 is busy on 127.0.0.1; refusing to run (free it or pick another port)"
  fi
}

# Waits for GET /api/auth/ok on $1 while process $2 lives; $3 is its log.
wait_ready() {
  local url="$1" pid="$2" server_log="$3"
  for _ in $(seq 1 300); do
    curl -fsS "$url/api/auth/ok" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$server_log" >&2; die "server exited before answering $url"; }
    sleep 0.2
  done
  cat "$server_log" >&2
  die "server at $url did not answer within 60 s"
}

# Percent of the machine's CPU time not idle over one second: other work on the machine
# (builds, tests) skews every figure, so the report records it before each measurement.
cpu_busy() {
  local before after
  before="$(head -1 /proc/stat)"
  sleep 1
  after="$(head -1 /proc/stat)"
  printf '%s\n%s\n' "$before" "$after" | awk '
    { idle[NR] = $5 + $6; total[NR] = 0; for (i = 2; i <= NF; i++) total[NR] += $i }
    END { t = total[2] - total[1]; printf "%.0f", (t > 0 ? 100 * (t - (idle[2] - idle[1])) / t : 0) }'
}

# Waits up to IDLE_WAIT seconds for the machine to be idle (at most IDLE_BUSY % busy) and
# leaves the last busy % in BUSY; the report flags a measurement that started on a busy machine.
wait_idle() {
  local waited=0
  BUSY="$(cpu_busy)"
  while [ "$BUSY" -gt "$IDLE_BUSY" ] && [ "$waited" -lt "$IDLE_WAIT" ]; do
    [ "$waited" = 0 ] && log "the machine is ${BUSY}% busy with other work; waiting up to ${IDLE_WAIT}s for it to settle"
    sleep 4
    waited=$((waited + 5))
    BUSY="$(cpu_busy)"
  done
}

peak_kib() { awk '/^VmHWM:/{print $2}' "/proc/$1/status" 2>/dev/null || true; }

# stop_server [VAR]: stops the server we started whose pid is in VAR (default SERVER_PID),
# reading its peak RSS (KiB) into PEAK first, and empties VAR.
stop_server() {
  local var="${1:-SERVER_PID}"
  local pid="${!var}"
  PEAK="$(peak_kib "$pid")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  printf -v "$var" '%s' ""
}

# manifest KEY=VALUE...: appends one JSON object to the manifest (peak_kib as a number).
manifest() {
  node -e '
    const o = {};
    for (const a of process.argv.slice(1)) {
      const i = a.indexOf("="); const k = a.slice(0, i); const v = a.slice(i + 1);
      if (v !== "") o[k] = k === "peak_kib" ? Number(v) : v;
    }
    console.log(JSON.stringify(o));
  ' "$@" >>"$MANIFEST"
}

seconds_of() { # wrk duration (10, 10s, 2m, 1h) in seconds
  local d="$1"
  case "$d" in
    *h) echo $(( ${d%h} * 3600 )) ;; *m) echo $(( ${d%m} * 60 )) ;; *s) echo "${d%s}" ;; *) echo "$d" ;;
  esac
}
# Bound for one server's whole bench.sh: its wrk runs plus generous room for preparation.
BENCH_BOUND=$(( RUNS * 4 * ($(seconds_of "$DURATION") + 15) + 600 ))

# argon2_hashes_per_sec: one Argon2id limit measurement (ARGON2_SECONDS), its hashes/s.
argon2_hashes_per_sec() {
  "$ARGON2_LIMIT" --seconds "$ARGON2_SECONDS" | tee -a "$OUT_RAW/argon2-around.jsonl" |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).hashes_per_sec));'
}

# run_shared_bench KEY URL LABEL SCENARIOS: the shared bench.sh against the server $SERVER_PID.
run_shared_bench() {
  local key="$1" url="$2" label="$3" scenarios="$4"
  local rc=0
  wait_idle
  log "benchmarking $label at $url (scenarios: $scenarios; machine ${BUSY}% busy before)"
  SERVER_PID="$SERVER_PID" LABEL="$label" SCENARIOS="$scenarios" OUT="$OUT_RAW/$key/bench.md" \
    timeout "$BENCH_BOUND" "$REF/bench/bench.sh" "$url" >&2 || rc=$?
  # bench.sh keeps raw.jsonl and rss.txt in $REF/bench/.run/<ts>-<pid>/: one per server.
  local work
  work="$(find "$REF/bench/.run" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -1 || true)"
  mkdir -p "$OUT_RAW/$key"
  [ -n "$work" ] && { cp -R "$work/." "$OUT_RAW/$key/"; rm -rf "$work"; }
  return "$rc"
}

# --- build --------------------------------------------------------------------------------

log "building authlog and authlog-bench (release)"
(cd "$ROOT" && timeout "$BUILD_TIMEOUT" cargo build --release -p authlog -p authlog-bench)
if [ -z "${CARGO_TARGET_DIR:-}" ]; then
  CARGO_TARGET_DIR="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).target_directory));')"
fi
AUTHLOG="$CARGO_TARGET_DIR/release/authlog"
HELLO="$CARGO_TARGET_DIR/release/hello"
ARGON2_LIMIT="$CARGO_TARGET_DIR/release/argon2_limit"
for bin in "$AUTHLOG" "$HELLO" "$ARGON2_LIMIT"; do [ -x "$bin" ] || die "missing $bin after the build"; done

# --- reference copy -----------------------------------------------------------------------

# node_modules is installed once into the cache and reused while package-lock.json and the
# Node version stay the same (better-sqlite3 is a native module built for that Node).
NODE_CACHE="$CACHE/reference"
STAMP="$(cat "$REFERENCE_DIR/package-lock.json" <(node --version) | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$NODE_CACHE/.stamp" 2>/dev/null)" != "$STAMP" ] || [ ! -d "$NODE_CACHE/node_modules/better-auth" ]; then
  log "installing the reference's npm dependencies into $NODE_CACHE (once)"
  rm -rf "$NODE_CACHE"
  mkdir -p "$NODE_CACHE"
  cp "$REFERENCE_DIR/package.json" "$REFERENCE_DIR/package-lock.json" "$NODE_CACHE/"
  [ -f "$REFERENCE_DIR/.npmrc" ] && cp "$REFERENCE_DIR/.npmrc" "$NODE_CACHE/"
  (cd "$NODE_CACHE" && timeout "$NPM_TIMEOUT" npm ci --no-audit --no-fund >&2)
  echo "$STAMP" >"$NODE_CACHE/.stamp"
fi
REF="$SCRATCH/reference"
mkdir -p "$REF"
(cd "$REFERENCE_DIR" && tar --exclude=./node_modules --exclude=.run -cf - .) | (cd "$REF" && tar -xf -)
chmod -R u+w "$REF"
ln -s "$NODE_CACHE/node_modules" "$REF/node_modules"
rm -rf "$REF/bench/.run"

# --- Argon2id limit, alone on the machine --------------------------------------------------

# The CPU time it got, against wall time x threads, shows whether anything else ran meanwhile;
# if something did, measure again (up to RETRIES times) and keep the attempt that got the most.
TIMEFORMAT='%U %S %R'
ARGON2_CPU=-1
for attempt in $(seq 0 "$RETRIES"); do
  wait_idle
  log "measuring the Argon2id limit for ${ARGON2_SECONDS}s (machine ${BUSY}% busy before)"
  { time "$ARGON2_LIMIT" --seconds "$ARGON2_SECONDS" >"$SCRATCH/argon2.json"; } 2>"$SCRATCH/argon2.time"
  cat "$SCRATCH/argon2.json" >&2
  cpu="$(awk -v threads="$(node -e 'console.log(JSON.parse(process.argv[1]).threads)' "$(cat "$SCRATCH/argon2.json")")" \
    '{ printf "%.0f", 100 * ($1 + $2) / ($3 * threads) }' "$SCRATCH/argon2.time")"
  log "the Argon2id threads got ${cpu}% of their cores"
  if [ "$cpu" -gt "$ARGON2_CPU" ]; then
    cp "$SCRATCH/argon2.json" "$ARGON2_JSON"
    ARGON2_CPU="$cpu" ARGON2_BUSY="$BUSY"
  fi
  [ "$cpu" -ge 90 ] && break
  [ "$attempt" -lt "$RETRIES" ] && log "other work took CPU from the measurement: measuring again"
done

# --- servers, one at a time ---------------------------------------------------------------

SECRET="$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')"

# bench_reference KEY LABEL SCENARIOS [NAME=VALUE...]: the reference with PLUGINS=core on its own
# fresh SQLite file; the extra arguments go into its environment (COOKIE_CACHE=1).
bench_reference() {
  local key="$1" label="$2" scenarios="$3"
  shift 3
  local port="${REF_PORT:-$(free_port)}"
  require_free_port "$port"
  log "starting $label on 127.0.0.1:$port"
  REF_PORT_RUNNING="$port"
  env -i PATH="$PATH" HOME="$HOME" PORT="$port" HOST=127.0.0.1 PLUGINS=core \
    BETTER_AUTH_SECRET="$SECRET" DB_FILE="$SCRATCH/$key.db" OUTBOX="$SCRATCH/$key-outbox.jsonl" \
    PID_FILE="$SCRATCH/reference.pid" LOG_FILE="$OUT_RAW/$key.log" "$@" \
    "$REF/reference/start.sh" >&2 9>&-
  SERVER_PID="$(cat "$SCRATCH/reference.pid")"
  local failed=""
  run_shared_bench "$key" "http://127.0.0.1:$port" "$label" "$scenarios" || failed="bench.sh exited with status $?"
  PEAK="$(peak_kib "$SERVER_PID")"
  SERVER_PID=""
  PORT="$port" PID_FILE="$SCRATCH/reference.pid" "$REF/reference/stop.sh" >&2
  REF_PORT_RUNNING=""
  BUSY="$BUSY/$(cpu_busy)"
  manifest key="$key" label="$label" scenarios="$scenarios" raw="$OUT_RAW/$key" peak_kib="$PEAK" busy="$BUSY" failed="$failed"
}

# start_authlog VAR KEY DATABASE_URL PORT [NAME=VALUE...]: starts authlog in the background,
# its pid into the variable VAR; the extra arguments go into its environment. Its log is
# $OUT_RAW/KEY.log.
start_authlog() {
  local var="$1" key="$2" database_url="$3" port="$4"
  shift 4
  require_free_port "$port"
  local dir="$SCRATCH/$key"
  mkdir -p "$dir"
  # A clean environment and an empty working directory: no authlog.toml, AUTHLOG_* or
  # DATABASE_URL from the caller can change what is measured.
  (cd "$dir" && exec env -i PATH="$PATH" HOME="$HOME" \
    BETTER_AUTH_SECRET="$SECRET" BETTER_AUTH_URL="http://127.0.0.1:$port" \
    BETTER_AUTH_TRUSTED_ORIGINS="http://localhost:$port" "$@" \
    "$AUTHLOG" serve --host 127.0.0.1 --port "$port" --database-url "$database_url") \
    >"$OUT_RAW/$key.log" 2>&1 9>&- &
  printf -v "$var" '%s' "$!"
}

# bench_authlog KEY LABEL DATABASE_URL PORT SCENARIOS [NAME=VALUE...]: the extra arguments
# go into authlog's environment.
bench_authlog() {
  local key="$1" label="$2" database_url="$3" port="$4" scenarios="$5"
  shift 5
  log "starting $label on 127.0.0.1:$port"
  start_authlog SERVER_PID "$key" "$database_url" "$port" "$@"
  wait_ready "http://127.0.0.1:$port" "$SERVER_PID" "$OUT_RAW/$key.log"
  # With sign-in or sign-up among the scenarios, the Argon2id limit is measured again right
  # before and right after ("before/after" hashes/s in the manifest): the machine's speed drifts by
  # 10-25 % over minutes, so the limit measured at the start of the run can be far from the
  # one the server ran against. The report gives the ratio against both.
  local failed="" around=""
  case " $scenarios " in *" sign-in "* | *" sign-up "*) around=1 ;; esac
  if [ -n "$around" ]; then
    wait_idle
    log "measuring the Argon2id limit before $label"
    around="$(argon2_hashes_per_sec)"
  fi
  run_shared_bench "$key" "http://127.0.0.1:$port" "$label" "$scenarios" || failed="bench.sh exited with status $?"
  if [ -n "$around" ]; then
    log "measuring the Argon2id limit after $label"
    around="$around/$(argon2_hashes_per_sec)"
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || failed="${failed:+$failed; }the server died (see $key.log)"
  stop_server
  BUSY="$BUSY/$(cpu_busy)"
  manifest key="$key" label="$label" scenarios="$scenarios" raw="$OUT_RAW/$key" peak_kib="$PEAK" busy="$BUSY" \
    argon2_around="$around" failed="$failed"
}

# bench_authlog_sqlite KEY LABEL SCENARIOS [NAME=VALUE...]: on a fresh SQLite file.
bench_authlog_sqlite() {
  local key="$1" label="$2" scenarios="$3"
  shift 3
  bench_authlog "$key" "$label" "sqlite://$SCRATCH/$key.db" "${SQLITE_PORT:-$(free_port)}" "$scenarios" "$@"
}

# pg_fresh_db KEY LABEL: a fresh PostgreSQL database, its name in PG_DB. When PostgreSQL does
# not answer, records LABEL as skipped and returns 1.
pg_fresh_db() {
  if ! timeout 10 psql "$PG_URL/postgres" -Atqc 'SELECT 1' >/dev/null 2>&1; then
    log "PostgreSQL unreachable at $PG_URL: skipping $2"
    manifest key="$1" label="$2" skipped="PostgreSQL unreachable at $PG_URL"
    return 1
  fi
  PG_DB="authlog_bench_${TS//-/_}_$$_${1//-/_}"
  psql "$PG_URL/postgres" -qc "CREATE DATABASE \"$PG_DB\"" >/dev/null
}

pg_drop_db() {
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$PG_DB\"" >/dev/null
  PG_DB=""
}

# bench_authlog_postgres KEY LABEL SCENARIOS [NAME=VALUE...]: on a fresh PostgreSQL database.
bench_authlog_postgres() {
  local key="$1" label="$2" scenarios="$3"
  shift 3
  pg_fresh_db "$key" "$label" || return 0
  bench_authlog "$key" "$label" "$PG_URL/$PG_DB" "${PG_PORT:-$(free_port)}" "$scenarios" "$@"
  pg_drop_db
}

# wait_bus_connected PID LOG: waits up to 10 s for authlog's "event bus ... connected" line.
wait_bus_connected() {
  local pid="$1" server_log="$2"
  for _ in $(seq 1 50); do
    grep -q 'NATS at .*: connected' "$server_log" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  cat "$server_log" >&2
  die "authlog (pid $pid) did not report a connected NATS bus within 10 s (see $server_log)"
}

# rss_of PID: "<VmRSS MiB>/<VmHWM MiB>", as bench.sh samples it.
rss_of() {
  awk '/^VmRSS:/{r=$2} /^VmHWM:/{h=$2} END{printf "%.0f/%.0f", r/1024, h/1024}' "/proc/$1/status" 2>/dev/null || echo n/a
}

# wrk_pair DIR SCENARIO REP LABEL URL_A URL_B: one wrk against each instance, started together
# with half the threads and connections each; appends one raw.jsonl record holding both.
wrk_pair() {
  local dir="$1" scenario="$2" rep="$3" label="$4" url_a="$5" url_b="$6"
  local script threads=$((THREADS > 1 ? THREADS / 2 : 1)) connections=$((CONNECTIONS > 1 ? CONNECTIONS / 2 : 1))
  case "$scenario" in get-session) script=get-session.lua ;; sign-in) script=sign-in.lua ;; esac
  local pid_a pid_b rc=0
  BENCH_DIR="$REF/bench" BENCH_DATA="$dir/data.lua" COOKIE_MODE=token \
    wrk -t"$threads" -c"$connections" -d"$DURATION" --timeout "$TIMEOUT" --latency \
    -s "$REF/bench/$script" "$url_a" >"$dir/$scenario-$rep-a.txt" 2>&1 9>&- &
  pid_a=$!
  BENCH_DIR="$REF/bench" BENCH_DATA="$dir/data.lua" COOKIE_MODE=token \
    wrk -t"$threads" -c"$connections" -d"$DURATION" --timeout "$TIMEOUT" --latency \
    -s "$REF/bench/$script" "$url_b" >"$dir/$scenario-$rep-b.txt" 2>&1 9>&- &
  pid_b=$!
  WRK_PIDS="$pid_a $pid_b"
  wait "$pid_a" || rc=1
  wait "$pid_b" || rc=1
  WRK_PIDS=""
  [ "$rc" = 0 ] || return 1
  # shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
  node -e '
    const fs = require("fs");
    const [scenario, rep, label, rssA, rssB, ...files] = process.argv.slice(1);
    const parts = files.map((f) => {
      const text = fs.readFileSync(f, "utf8");
      const line = text.split("\n").filter((l) => l.startsWith("BENCH_JSON ")).at(-1);
      if (!line) throw new Error(`no BENCH_JSON line in ${f}`);
      const non2xx = Number(text.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
      return { ...JSON.parse(line.slice("BENCH_JSON ".length)), non2xx };
    });
    const sum = (k) => parts.reduce((a, p) => a + p[k], 0);
    const max = (k) => Math.max(...parts.map((p) => p[k]));
    // req/s is the sum of the parts (report.mjs reads "parts"); latencies are the worse part.
    const wrk = { requests: sum("requests"), duration_us: max("duration_us"), bytes: sum("bytes"),
      p50_us: max("p50_us"), p90_us: max("p90_us"), p99_us: max("p99_us"), max_us: max("max_us"),
      err_connect: sum("err_connect"), err_read: sum("err_read"), err_write: sum("err_write"),
      err_status: sum("err_status"), err_timeout: sum("err_timeout") };
    console.log(JSON.stringify({ scenario, rep: Number(rep), label, non2xx: sum("non2xx"), rss: "n/a",
      rss_parts: [rssA, rssB], wrk, parts }));
  ' "$scenario" "$rep" "$label" "$(rss_of "$SERVER_PID")" "$(rss_of "$SERVER_PID_B")" \
    "$dir/$scenario-$rep-a.txt" "$dir/$scenario-$rep-b.txt" >>"$dir/raw.jsonl" || return 1
  echo "  $scenario rep $rep: A $(grep -m1 'Requests/sec' "$dir/$scenario-$rep-a.txt"); B $(grep -m1 'Requests/sec' "$dir/$scenario-$rep-b.txt")" >&2
}

# Two authlog processes on one fresh PostgreSQL database, publishing to and following one NATS
# stream of their own (cookie cache off, session cache on as by default). Users and sessions are
# prepared through instance A only; each scenario then runs one wrk against A and one against B
# at the same time, so B serves sessions it learnt of through the database. The row sums the two
# wrk figures. Afterwards it checks that the stream holds every event of the log.
bench_authlog_nats_pair() {
  local key=authlog-postgres-nats-2x label="authlog (PostgreSQL + NATS, 2 instances)"
  local scenarios="get-session sign-in"
  if ! node "$BENCH/nats.mjs" probe "$NATS_URL" 2>"$SCRATCH/nats-probe.err"; then
    log "NATS (JetStream) unreachable at $NATS_URL: skipping $label"
    manifest key="$key" label="$label" skipped="NATS unreachable at $NATS_URL: $(sed 's/^nats.mjs: //' "$SCRATCH/nats-probe.err" | tr -d '\n')"
    return 0
  fi
  pg_fresh_db "$key" "$label" || return 0
  local id
  id="$(node -e 'console.log(require("crypto").randomBytes(6).toString("hex"))')"
  NATS_STREAM="BENCH_$id"
  # A private stream and subjects; its events expire after 10 minutes should the stream outlive
  # the run (it is deleted below and by the exit trap).
  local bus=(NATS_URL="$NATS_URL" AUTHLOG_NATS_STREAM="$NATS_STREAM"
    AUTHLOG_NATS_SUBJECT_PREFIX="bench_$id.auth" AUTHLOG_NATS_MAX_AGE=600)
  local port_a="${PG_PORT:-$(free_port)}"
  local url_a="http://127.0.0.1:$port_a"
  log "starting $label: A on 127.0.0.1:$port_a (stream $NATS_STREAM)"
  start_authlog SERVER_PID "$key-a" "$PG_URL/$PG_DB" "$port_a" "${bus[@]}"
  wait_ready "$url_a" "$SERVER_PID" "$OUT_RAW/$key-a.log"
  wait_bus_connected "$SERVER_PID" "$OUT_RAW/$key-a.log"
  # B is started once A has migrated the database; it trusts A's origin, which the prepared
  # sign-in requests carry.
  local port_b="${PG_PORT_B:-$(free_port)}"
  local url_b="http://127.0.0.1:$port_b"
  log "starting $label: B on 127.0.0.1:$port_b"
  start_authlog SERVER_PID_B "$key-b" "$PG_URL/$PG_DB" "$port_b" "${bus[@]}" \
    BETTER_AUTH_TRUSTED_ORIGINS="http://localhost:$port_b,$url_a"
  wait_ready "$url_b" "$SERVER_PID_B" "$OUT_RAW/$key-b.log"
  wait_bus_connected "$SERVER_PID_B" "$OUT_RAW/$key-b.log"

  local dir="$OUT_RAW/$key" failed="" rep scenario cookie
  mkdir -p "$dir"
  wait_idle
  log "benchmarking $label at $url_a + $url_b (scenarios: $scenarios; machine ${BUSY}% busy before)"
  if ! node "$REF/bench/prepare.mjs" signup "$url_a" "$N_USERS" "$dir/users.json" >&2; then
    failed="preparing users through A failed"
  fi
  echo "rss_idle_mib=$(rss_of "$SERVER_PID") + $(rss_of "$SERVER_PID_B")" >"$dir/rss.txt"
  : >"$dir/raw.jsonl"
  for rep in $(seq 1 "$RUNS"); do
    [ -z "$failed" ] || break
    # Fresh sessions through A each run, as bench.sh does; B must know them.
    if ! node "$REF/bench/prepare.mjs" signin "$url_a" "$dir/users.json" "$dir/data.lua" >/dev/null; then
      failed="signing the users in through A failed"
      break
    fi
    cookie="$(sed -n 's/^bench_token_cookies = {"\([^"]*\)".*/\1/p' "$dir/data.lua")"
    if ! curl -fsS -H "Cookie: $cookie" "$url_b/api/auth/get-session" | grep -q '"email"'; then
      failed="instance B does not answer a session created through A"
      break
    fi
    for scenario in $scenarios; do
      if ! wrk_pair "$dir" "$scenario" "$rep" "$label" "$url_a" "$url_b"; then
        failed="wrk failed for $scenario (see $key/$scenario-$rep-a.txt, -b.txt)"
        break 2
      fi
    done
  done
  echo "rss_end_mib=$(rss_of "$SERVER_PID") + $(rss_of "$SERVER_PID_B")" >>"$dir/rss.txt"
  kill -0 "$SERVER_PID" 2>/dev/null || failed="${failed:+$failed; }instance A died (see $key-a.log)"
  kill -0 "$SERVER_PID_B" 2>/dev/null || failed="${failed:+$failed; }instance B died (see $key-b.log)"

  # Did the fan-out keep up? Give the publisher up to 15 s to catch up with the log.
  local events="" published=""
  for _ in $(seq 1 30); do
    events="$(psql "$PG_URL/$PG_DB" -Atqc 'SELECT count(*) FROM events' 2>/dev/null || echo '?')"
    published="$(node "$BENCH/nats.mjs" info "$NATS_URL" "$NATS_STREAM" 2>/dev/null || echo '?')"
    [ "$published" = "$events" ] && break
    sleep 0.5
  done
  log "the stream holds $published of the log's $events events"

  local peak_a peak_b
  stop_server SERVER_PID
  peak_a="$PEAK"
  stop_server SERVER_PID_B
  peak_b="$PEAK"
  BUSY="$BUSY/$(cpu_busy)"
  node "$BENCH/nats.mjs" delete "$NATS_URL" "$NATS_STREAM" ||
    log "could not delete the stream $NATS_STREAM; its events expire after 600 s"
  NATS_STREAM=""
  pg_drop_db
  manifest key="$key" label="$label" scenarios="$scenarios" raw="$dir" peak_kib="$peak_a" peak_b_kib="$peak_b" \
    busy="$BUSY" failed="$failed" published="$published/$events"
}

# The hello server has no sign-up, so bench.sh cannot prepare users for it: run wrk with the
# same get-session.lua, a dummy cookie and bench.sh's settings, and write the same raw.jsonl.
bench_hello() {
  local port="${HELLO_PORT:-$(free_port)}" key=hello label="hello (bare axum)"
  require_free_port "$port"
  log "starting $label on 127.0.0.1:$port"
  "$HELLO" --port "$port" >"$OUT_RAW/hello.log" 2>&1 9>&- &
  SERVER_PID=$!
  local url="http://127.0.0.1:$port"
  wait_ready "$url" "$SERVER_PID" "$OUT_RAW/hello.log"
  local dir="$OUT_RAW/$key"
  mkdir -p "$dir"
  cat >"$dir/data.lua" <<EOF
bench_origin = "$url"
bench_run = "hello"
bench_password = "unused"
bench_emails = {"hello@example.com"}
bench_token_cookies = {"better-auth.session_token=hello"}
bench_full_cookies = {"better-auth.session_token=hello"}
bench_has_cookie_cache = false
EOF
  rss() { awk '/^VmRSS:/{r=$2} /^VmHWM:/{h=$2} END{printf "%.0f/%.0f", r/1024, h/1024}' "/proc/$SERVER_PID/status"; }
  echo "rss_idle_mib=$(rss)" >"$dir/rss.txt"
  : >"$dir/raw.jsonl"
  wait_idle
  log "benchmarking $label at $url (get-session only; machine ${BUSY}% busy before)"
  local failed="" rep
  for rep in $(seq 1 "$RUNS"); do
    local wrk_log="$dir/get-session-$rep.txt"
    if ! BENCH_DIR="$REF/bench" BENCH_DATA="$dir/data.lua" COOKIE_MODE=token \
      wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout "$TIMEOUT" --latency \
      -s "$REF/bench/get-session.lua" "$url" >"$wrk_log" 2>&1; then
      failed="wrk exited with an error (see hello/get-session-$rep.txt)"
      break
    fi
    local json non2xx
    json="$(grep '^BENCH_JSON ' "$wrk_log" | tail -1 | cut -d' ' -f2-)"
    non2xx="$(awk '/Non-2xx or 3xx responses:/{print $NF}' "$wrk_log")"
    echo "{\"scenario\":\"get-session\",\"rep\":$rep,\"label\":\"$label\",\"non2xx\":${non2xx:-0},\"rss\":\"$(rss)\",\"wrk\":$json}" >>"$dir/raw.jsonl"
    echo "  get-session rep $rep: $(grep -m1 'Requests/sec' "$wrk_log")" >&2
  done
  echo "rss_end_mib=$(rss)" >>"$dir/rss.txt"
  stop_server
  BUSY="$BUSY/$(cpu_busy)"
  manifest key="$key" label="$label" scenarios=get-session raw="$dir" peak_kib="$PEAK" busy="$BUSY" failed="$failed"
}

# Each cookie-cache server is measured on the cache-hit path (get-session-cache: the token and
# session_data cookies) and, for comparison, with the token alone (get-session).
CACHE_SCENARIOS="get-session get-session-cache"

run_server() {
  case "$1" in
    reference) bench_reference reference "better-auth 1.7.25 (PLUGINS=core)" "$SCENARIOS" ;;
    authlog-sqlite) bench_authlog_sqlite authlog-sqlite "authlog (SQLite)" "$SCENARIOS" ;;
    authlog-postgres) bench_authlog_postgres authlog-postgres "authlog (PostgreSQL)" "$SCENARIOS" ;;
    # authlog answers repeated get-session from an in-process cache (1 s TTL); with it off,
    # every get-session reads the database, as the reference does without its cookie cache.
    authlog-sqlite-nocache)
      bench_authlog_sqlite authlog-sqlite-nocache "authlog (SQLite, session cache off)" get-session \
        AUTHLOG_SESSION_CACHE_TTL_MS=0 ;;
    authlog-postgres-nocache)
      bench_authlog_postgres authlog-postgres-nocache "authlog (PostgreSQL, session cache off)" get-session \
        AUTHLOG_SESSION_CACHE_TTL_MS=0 ;;
    # The cookie cache: Better Auth's session.cookieCache (maxAge 300, its default strategy,
    # compact) against authlog's, same max age, per strategy.
    reference-cookie-cache)
      bench_reference reference-cookie-cache "better-auth 1.7.25 (PLUGINS=core, cookie cache compact)" \
        "$CACHE_SCENARIOS" COOKIE_CACHE=1 ;;
    authlog-sqlite-cache-compact | authlog-sqlite-cache-jwt | authlog-sqlite-cache-jwe)
      bench_authlog_sqlite "$1" "authlog (SQLite, cookie cache ${1##*-})" "$CACHE_SCENARIOS" \
        AUTHLOG_COOKIE_CACHE_ENABLED=true AUTHLOG_COOKIE_CACHE_STRATEGY="${1##*-}" AUTHLOG_COOKIE_CACHE_MAX_AGE=300 ;;
    authlog-postgres-cache-compact)
      bench_authlog_postgres "$1" "authlog (PostgreSQL, cookie cache compact)" "$CACHE_SCENARIOS" \
        AUTHLOG_COOKIE_CACHE_ENABLED=true AUTHLOG_COOKIE_CACHE_STRATEGY=compact AUTHLOG_COOKIE_CACHE_MAX_AGE=300 ;;
    authlog-postgres-nats-2x) bench_authlog_nats_pair ;;
    hello) bench_hello ;;
  esac
}

for server in $SERVERS; do
  known=""
  for name in $ALL_SERVERS; do [ "$name" = "$server" ] && known=1; done
  [ -n "$known" ] || die "unknown server $server (see SERVERS at the top of bench/run.sh)"
done
for server in $SERVERS; do
  # The machine is idle before each benchmark (wait_idle); if it is busy right after, other
  # work ran meanwhile: drop the figures and run that server again (up to RETRIES times).
  for attempt in $(seq 0 "$RETRIES"); do
    rm -rf "${OUT_RAW:?}/$server"
    lines="$(wc -l <"$MANIFEST")"
    run_server "$server"
    after="$(tail -1 "$MANIFEST" | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log((JSON.parse(s).busy ?? "0/0").split("/")[1]));')"
    [ "$after" -le "$IDLE_BUSY" ] && break
    if [ "$attempt" -lt "$RETRIES" ]; then
      log "the machine was ${after}% busy right after $server: other work ran meanwhile, running it again"
      head -n "$lines" "$MANIFEST" >"$MANIFEST.tmp" && mv "$MANIFEST.tmp" "$MANIFEST"
    fi
  done
done

# --- report -------------------------------------------------------------------------------

cp "$MANIFEST" "$OUT_RAW/servers.jsonl"
write_report ""
cat "$OUT_MD"
echo "(table written to $OUT_MD; raw output in $OUT_RAW)" >&2
