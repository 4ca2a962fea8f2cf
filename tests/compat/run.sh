#!/usr/bin/env bash
# Run the official-client compat suite against a freshly started authlog.
#
#   tests/compat/run.sh                          # SQLite (a temporary file)
#   COMPAT_BACKEND=postgres tests/compat/run.sh  # a fresh PostgreSQL database, dropped afterwards
#
# Builds the debug binary (unless AUTHLOG_BIN is given), starts it on a free loopback port,
# waits for /api/auth/ok, seeds the admin user, runs `npm test` and stops the server again.
# The exit status is the suite's. See README.md ("run.sh") for every variable.
set -euo pipefail

COMPAT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$COMPAT_DIR/../.." && pwd)"

BACKEND="${COMPAT_BACKEND:-sqlite}"
# COMPAT_COOKIE_CACHE=compact|jwt|jwe turns the server's cookie cache on with that strategy, so
# test/cookie-cache.test.mjs checks its cookies with better-auth's own getCookieCache.
COOKIE_CACHE_STRATEGY="${COMPAT_COOKIE_CACHE:-compact}"
COOKIE_CACHE_ENABLED=false
if [[ -n "${COMPAT_COOKIE_CACHE:-}" ]]; then
    case "$COMPAT_COOKIE_CACHE" in
        compact | jwt | jwe) COOKIE_CACHE_ENABLED=true ;;
        *) echo "COMPAT_COOKIE_CACHE=$COMPAT_COOKIE_CACHE: use compact, jwt or jwe" >&2; exit 2 ;;
    esac
fi
POSTGRES_ADMIN_URL="${COMPAT_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
READY_TIMEOUT="${COMPAT_READY_TIMEOUT:-60}"  # seconds until /ok must answer 200
TEST_TIMEOUT="${COMPAT_TEST_TIMEOUT:-900}"   # seconds for `npm test`
NPM_TIMEOUT="${COMPAT_NPM_TIMEOUT:-600}"     # seconds for `npm ci`
export ADMIN_EMAIL="${ADMIN_EMAIL:-admin@example.com}"
export ADMIN_PASSWORD="${ADMIN_PASSWORD:-Admin-passw0rd!}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/authlog-target}"

log() { echo "[compat $(date +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

case "$BACKEND" in
    sqlite | postgres) ;;
    *) die "COMPAT_BACKEND=$BACKEND: use sqlite or postgres" ;;
esac
for tool in node npm curl; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
if [[ "$BACKEND" == postgres ]]; then
    command -v psql >/dev/null || die "psql is not installed (needed for COMPAT_BACKEND=postgres)"
fi

# --- state the cleanup trap works on -------------------------------------------------------
TMP_DIR=""
SERVER_PID=""
SERVER_LOG=""
DB_NAME=""

stop_server() {
    [[ -n "$SERVER_PID" ]] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            log "server did not stop within 10 s; killing it"
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

cleanup() {
    local status=$?
    trap - EXIT
    set +e
    if [[ $status -ne 0 && -n "$SERVER_LOG" && -s "$SERVER_LOG" ]]; then
        log "FAILED (exit $status); last 80 lines of the server log:"
        tail -n 80 "$SERVER_LOG" >&2
    fi
    stop_server
    if [[ -n "$DB_NAME" ]]; then
        psql "$POSTGRES_ADMIN_URL" -X -q -v ON_ERROR_STOP=1 \
            -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null \
            || log "could not drop database $DB_NAME"
    fi
    [[ -n "$TMP_DIR" ]] && rm -rf "$TMP_DIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the binary ----------------------------------------------------------------------------
if [[ -n "${AUTHLOG_BIN:-}" ]]; then
    BIN="$(readlink -f "$AUTHLOG_BIN")"
    [[ -x "$BIN" ]] || die "AUTHLOG_BIN=$AUTHLOG_BIN is not an executable file"
else
    log "building the debug binary (cargo build -p authlog, target dir $CARGO_TARGET_DIR)"
    (cd "$ROOT" && cargo build -p authlog) || die "cargo build -p authlog failed"
    BIN="$CARGO_TARGET_DIR/debug/authlog"
    [[ -x "$BIN" ]] || die "$BIN was not built"
fi

# --- npm dependencies: `npm ci` only when node_modules is missing or out of date -------------
# The stamp (inside node_modules, so `npm ci` itself removes it) records what was installed.
stamp_file="$COMPAT_DIR/node_modules/.authlog-compat-stamp"
wanted_stamp="$(cat "$COMPAT_DIR/package.json" "$COMPAT_DIR/package-lock.json" | sha256sum | cut -d' ' -f1) node $(node --version)"
if [[ ! -d "$COMPAT_DIR/node_modules" || ! -f "$stamp_file" || "$(cat "$stamp_file")" != "$wanted_stamp" ]]; then
    log "npm ci (node_modules missing or the lockfile changed)"
    (cd "$COMPAT_DIR" && timeout --kill-after=30 "$NPM_TIMEOUT" npm ci --no-audit --no-fund) \
        || die "npm ci failed"
    echo "$wanted_stamp" >"$stamp_file"
else
    log "node_modules is up to date with package-lock.json; skipping npm ci"
fi

# --- the database --------------------------------------------------------------------------
TMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/authlog-compat.XXXXXX")"
SERVER_LOG="$TMP_DIR/server.log"
if [[ "$BACKEND" == postgres ]]; then
    DB_NAME="authlog_compat_$(date +%Y%m%d%H%M%S)_$$_$RANDOM"
    log "creating PostgreSQL database $DB_NAME"
    psql "$POSTGRES_ADMIN_URL" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null \
        || { DB_NAME=""; die "cannot create a database on $POSTGRES_ADMIN_URL"; }
    DB_URL="${POSTGRES_ADMIN_URL%/*}/$DB_NAME"
else
    DB_URL="sqlite://$TMP_DIR/authlog.db"
fi

# --- start the server ----------------------------------------------------------------------
free_port() {
    node -e 'const s = require("net").createServer();
             s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
BASE_URL=""
for attempt in 1 2 3; do
    PORT="$(free_port)"
    BASE_URL="http://127.0.0.1:$PORT"
    log "starting $BIN on $BASE_URL ($BACKEND, attempt $attempt)"
    # The server runs in the temporary directory so that no stray ./authlog.toml is picked up.
    (
        cd "$TMP_DIR"
        unset AUTHLOG_CONFIG DATABASE_URL AUTHLOG_BASE_PATH
        export BETTER_AUTH_SECRET="$SECRET" \
            BETTER_AUTH_URL="$BASE_URL" \
            BETTER_AUTH_TRUSTED_ORIGINS="http://localhost:$PORT" \
            AUTHLOG_DELETE_USER_ENABLED=true \
            AUTHLOG_CHANGE_EMAIL_ENABLED=true \
            AUTHLOG_MAILBOX="$TMP_DIR/mailbox.jsonl" \
            AUTHLOG_COOKIE_CACHE_ENABLED="$COOKIE_CACHE_ENABLED" \
            AUTHLOG_COOKIE_CACHE_STRATEGY="$COOKIE_CACHE_STRATEGY" \
            NO_COLOR=1
        exec "$BIN" serve --host 127.0.0.1 --port "$PORT" --database-url "$DB_URL"
    ) >>"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!

    ready=false
    deadline=$((SECONDS + READY_TIMEOUT))
    while ((SECONDS < deadline)); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            break
        fi
        if curl -fsS -o /dev/null --max-time 2 "$BASE_URL/api/auth/ok" 2>/dev/null; then
            ready=true
            break
        fi
        sleep 0.25
    done
    $ready && break

    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        wait "$SERVER_PID" 2>/dev/null && code=0 || code=$?
        SERVER_PID=""
        # Another process may have taken the port between picking and binding it: try again.
        if ((attempt < 3)) && grep -qi 'address.*in use' "$SERVER_LOG"; then
            log "port $PORT was taken; retrying on another port"
            continue
        fi
        die "the server exited (status $code) before $BASE_URL/api/auth/ok answered"
    fi
    die "$BASE_URL/api/auth/ok did not answer 200 within ${READY_TIMEOUT}s"
done
log "server is ready (pid $SERVER_PID)"

# --- seed the admin (authlog has no seeding; the suite signs in as this user) ----------------
seed_body="$(node -e 'process.stdout.write(JSON.stringify({name: "Admin",
    email: process.env.ADMIN_EMAIL, password: process.env.ADMIN_PASSWORD}))')"
seed_code="$(curl -sS -o "$TMP_DIR/seed.json" -w '%{http_code}' --max-time 30 \
    -X POST -H 'Content-Type: application/json' --data "$seed_body" \
    "$BASE_URL/api/auth/sign-up/email")" || die "seeding the admin: request failed"
if [[ "$seed_code" != 200 ]]; then
    die "seeding the admin $ADMIN_EMAIL: HTTP $seed_code: $(head -c 500 "$TMP_DIR/seed.json")"
fi
log "seeded the admin $ADMIN_EMAIL"

# --- the suite -----------------------------------------------------------------------------
log "npm test against $BASE_URL (bounded to ${TEST_TIMEOUT}s)"
suite_status=0
(cd "$COMPAT_DIR" && AUTHLOG_URL="$BASE_URL" MAILBOX="$TMP_DIR/mailbox.jsonl" \
    BETTER_AUTH_SECRET="$SECRET" AUTHLOG_COOKIE_CACHE_STRATEGY="$COOKIE_CACHE_STRATEGY" timeout --kill-after=30 "$TEST_TIMEOUT" npm test) \
    || suite_status=$?
if ((suite_status == 124)); then
    log "npm test timed out after ${TEST_TIMEOUT}s"
fi
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    log "the server died during the suite"
    ((suite_status != 0)) || suite_status=1
fi
if ((suite_status == 0)); then
    log "compat suite passed ($BACKEND)"
else
    log "compat suite FAILED ($BACKEND, exit $suite_status)"
fi
exit "$suite_status"
