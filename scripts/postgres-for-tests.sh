#!/usr/bin/env bash
# Makes a PostgreSQL server available for the tests and prints the URL to give them as
# FEEDSIFT_TEST_POSTGRES (a role that may create databases). Used by .ci/run; handy locally:
#
#   export FEEDSIFT_TEST_POSTGRES=$(scripts/postgres-for-tests.sh)
#
# - Installs Debian's `postgresql` package when no server binaries are present.
# - As root: starts the Debian cluster (creating one if there is none) and creates the role
#   `feedsift` (password `feedsift`) and database `feedsift` if missing.
# - As another user: runs a private cluster in $FEEDSIFT_PG_DIR (default /tmp/feedsift-pg-$USER)
#   on port 55432, trusting local connections.
# Fails loudly (non-zero exit, the reason on stderr) when it cannot: CI must not go on silently
# without the PostgreSQL half of the suite.
set -euo pipefail

log() { echo "postgres-for-tests: $*" >&2; }

pg_bin() {
    local v
    v=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1 || true)
    [ -n "$v" ] && [ -x "/usr/lib/postgresql/$v/bin/postgres" ] && echo "/usr/lib/postgresql/$v/bin"
}

if [ -z "$(pg_bin)" ]; then
    log "no PostgreSQL server found; installing Debian's postgresql package"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get install -y -q postgresql >&2 || { $SUDO apt-get update -q >&2 && $SUDO apt-get install -y -q postgresql >&2; }
fi
BIN=$(pg_bin) || { log "PostgreSQL is still not installed"; exit 1; }
VERSION=$(basename "$(dirname "$BIN")")

if [ "$(id -u)" = 0 ]; then
    if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
        log "creating cluster $VERSION/main"
        pg_createcluster "$VERSION" main >&2
    fi
    read -r CV CN PORT STATUS _ < <(pg_lsclusters -h | head -1)
    if [ "$STATUS" != "online" ]; then
        log "starting cluster $CV/$CN"
        pg_ctlcluster "$CV" "$CN" start >&2
    fi
    for _ in $(seq 1 60); do
        "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
        sleep 0.5
    done
    "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" || { log "server on port $PORT does not answer"; exit 1; }
    runuser -u postgres -- psql -q -p "$PORT" -v ON_ERROR_STOP=1 >&2 <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'feedsift') THEN
    CREATE ROLE feedsift LOGIN CREATEDB PASSWORD 'feedsift';
  END IF;
END $$;
SQL
    if ! runuser -u postgres -- psql -p "$PORT" -tAc "SELECT 1 FROM pg_database WHERE datname = 'feedsift'" | grep -q 1; then
        runuser -u postgres -- createdb -p "$PORT" -O feedsift feedsift >&2
    fi
    echo "postgres://feedsift:feedsift@127.0.0.1:$PORT/feedsift"
else
    DIR=${FEEDSIFT_PG_DIR:-/tmp/feedsift-pg-$(id -un)}
    PORT=55432
    if [ ! -f "$DIR/PG_VERSION" ]; then
        log "initialising a private cluster in $DIR"
        "$BIN/initdb" -D "$DIR" -U "$(id -un)" --auth=trust -E UTF8 >&2
    fi
    if ! "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
        "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1" -w start >&2
    fi
    "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" || { log "private server does not answer (see $DIR/server.log)"; exit 1; }
    if ! "$BIN/psql" -h 127.0.0.1 -p "$PORT" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'feedsift'" | grep -q 1; then
        "$BIN/createdb" -h 127.0.0.1 -p "$PORT" feedsift >&2
    fi
    echo "postgres://$(id -un)@127.0.0.1:$PORT/feedsift"
fi
