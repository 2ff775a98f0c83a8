#!/usr/bin/env bash
# Ingest throughput of 1, 2 and 3 `feedsift serve` instances sharing one PostgreSQL, next to
# one process on sled, over the same local farm (docs/PERFORMANCE.md, "Scaling out").
#
#   scripts/scale-bench.sh                 # FEEDS=2000 ITEMS=20 INSTANCES="1 2 3"
#   FEEDS=500 ITEMS=10 scripts/scale-bench.sh
#
# Each run starts from an empty store. The instances are started together on a schedule that
# does not fire during the run, so the only polls are the start-up polls of never-polled feeds,
# split between instances by their leases. A run ends when every feed's slot is recorded done;
# the figure is entries (items in the feeds' documents) per second from start to that moment,
# and stories stored per second. sled is measured with `poll --once` (one process). "CPU busy"
# is the whole machine's (PostgreSQL included); "lock held" is the time the shared ingest lock
# was held, summed over the instances, as a share of the run: the serial part of ingest.
set -euo pipefail
cd "$(dirname "$0")/.."

FEEDS=${FEEDS:-2000}
ITEMS=${ITEMS:-20}
HOSTS=${HOSTS:-8}
INSTANCES=${INSTANCES:-"1 2 3"}
DIR=${BENCH_DIR:-/tmp/feedsift-scale}

PG_URL=${FEEDSIFT_TEST_POSTGRES:-$(scripts/postgres-for-tests.sh)}
BASE=${PG_URL%/*}
DB=feedsift_scale_bench
BENCH_URL="$BASE/$DB"

cargo build --release --quiet --bin feedsift --example farm
BIN=$PWD/target/release/feedsift
FARM=$PWD/target/release/examples/farm

rm -rf "$DIR" && mkdir -p "$DIR"
cd "$DIR"
"$FARM" --feeds "$FEEDS" --items "$ITEMS" --hosts "$HOSTS" --config-out "$DIR/farm.toml" >"$DIR/farm.log" 2>&1 &
FARM_PID=$!
PIDS=()
cleanup() {
    kill "$FARM_PID" "${PIDS[@]}" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do grep -q "wrote" "$DIR/farm.log" 2>/dev/null && break; sleep 0.1; done

# Machine-wide CPU use between two readings of /proc/stat: busy share of all cores.
cpu_mark() { awk '/^cpu /{print $2+$3+$4+$6+$7+$8, $5}' /proc/stat; }
cpu_busy() {
    local b0 i0 b1 i1
    read -r b0 i0 <<<"$1"
    read -r b1 i1 <<<"$2"
    awk -v b="$((b1 - b0))" -v i="$((i1 - i0))" 'BEGIN { printf "%.0f%%", 100 * b / (b + i) }'
}

psql_admin() { psql "$BASE/postgres" -qAt -v ON_ERROR_STOP=1 -c "$1"; }
psql_bench() { psql "$BENCH_URL" -qAt -c "$1" 2>/dev/null || echo 0; }
ENTRIES=$((FEEDS * ITEMS))

# Instance i's config: the farm's feeds, a schedule that does not fire in the run (Jan 1st),
# its own port and data directory.
config_for() {
    local i=$1
    sed -e "s|^data_dir = .*|data_dir = \"data$i\"\nlisten = \"127.0.0.1:$((18700 + i))\"\ndefault_schedule = \"0 0 0 1 Jan *\"\nmax_jitter_secs = 0|" \
        "$DIR/farm.toml" >"$DIR/feeds$i.toml"
}

echo "farm: $FEEDS feeds x $ITEMS items ($ENTRIES entries) on $HOSTS hosts"
printf "%-22s %10s %12s %12s %10s %9s %10s\n" "store" "seconds" "entries/s" "stories/s" "stories" "CPU busy" "lock held"

# sled, one process.
config_for 0
start=$(date +%s.%N)
c0=$(cpu_mark)
"$BIN" --config "$DIR/feeds0.toml" poll --once >"$DIR/sled.out"
end=$(date +%s.%N)
busy=$(cpu_busy "$c0" "$(cpu_mark)")
stories=$(grep -o '[0-9]* new' "$DIR/sled.out" | head -1 | cut -d' ' -f1)
awk -v s="$start" -v e="$end" -v n="$ENTRIES" -v k="$stories" -v c="$busy" \
    'BEGIN { t = e - s; printf "%-22s %10.1f %12.0f %12.0f %10d %9s\n", "sled (poll --once)", t, n / t, k / t, k, c }'

for n in $INSTANCES; do
    psql_admin "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
    psql_admin "CREATE DATABASE $DB"
    PIDS=()
    start=$(date +%s.%N)
    c0=$(cpu_mark)
    for i in $(seq 1 "$n"); do
        config_for "$i"
        FEEDSIFT_STORE=$BENCH_URL RUST_LOG=warn "$BIN" --config "$DIR/feeds$i.toml" serve >"$DIR/serve$n-$i.log" 2>&1 &
        PIDS+=($!)
    done
    while :; do
        done_feeds=$(psql_bench "SELECT count(*) FROM feedsift_leases WHERE done_slot IS NOT NULL")
        [ "${done_feeds:-0}" -ge "$FEEDS" ] && break
        sleep 0.2
    done
    end=$(date +%s.%N)
    busy=$(cpu_busy "$c0" "$(cpu_mark)")
    # The serial part: time the ingest lock was held, summed over instances, share of the run.
    held=0
    for i in $(seq 1 "$n"); do
        h=$(curl -s "http://127.0.0.1:$((18700 + i))/metrics" | awk '/^feedsift_ingest_lock_held_seconds_total/ {print $2}')
        held=$(awk -v a="$held" -v b="${h:-0}" 'BEGIN { print a + b }')
    done
    stories=$(psql_bench "SELECT count(*) FROM feedsift_items")
    kill -TERM "${PIDS[@]}"
    wait "${PIDS[@]}" 2>/dev/null || true
    PIDS=()
    awk -v s="$start" -v e="$end" -v n="$ENTRIES" -v k="$stories" -v c="$busy" -v h="$held" -v label="postgres, $n instance(s)" \
        'BEGIN { t = e - s; printf "%-22s %10.1f %12.0f %12.0f %10d %9s %9.0f%%\n", label, t, n / t, k / t, k, c, 100 * h / t }'
done
psql_admin "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
