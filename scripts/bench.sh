#!/usr/bin/env bash
# The load harness of docs/PERFORMANCE.md: one command, one table.
#
#   scripts/bench.sh                      # 10,000 feeds × 50 items, store filled to 1,000,000
#   FEEDS=1000 FILL=0 scripts/bench.sh    # a quick run
#
# Starts the synthetic feed farm (examples/farm.rs) and a fresh feedsift on an empty store,
# runs the scenarios of the performance issue and prints one table: wall time, items/s,
# peak RSS, store size, requests/s and p99 — with bare feed-rs and bare sled over the same
# bytes (examples/baseline.rs) and nginx serving the same merged feed as a static file, measured
# in the same run, and the pipeline's ratio to each.
#
# Scenarios end with an ad-hoc filtered query: `?max_age=` unique per request (wrk and a Lua
# script), so every request misses the render cache and reads the store.
#
# Environment: FEEDS (10000), ITEMS (50 per feed), HOSTS (8 loopback addresses), FILL (1: after
# the cold run every feed publishes ITEMS more, doubling the store — 1,000,000 items at the
# defaults — before the warm, changed, start-up and HTTP scenarios), DURATION (10 s per HTTP
# run), CONNECTIONS (64), BENCH_DIR (a fresh temporary directory), KEEP (1: keep BENCH_DIR),
# COMPRESS (1: `compress_store = true`), BIGDOC (1: also run scripts/bigdoc-bench.sh, one feed
# document of 5,000 and 20,000 entries with look-alike and random titles, and print its table).
# Needs wrk and nginx for the HTTP rows (installed with apt-get when missing and possible).
set -euo pipefail

FEEDS=${FEEDS:-10000}
ITEMS=${ITEMS:-50}
HOSTS=${HOSTS:-8}
FILL=${FILL:-1}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${BENCH_DIR:-$(mktemp -d /tmp/feedsift-bench.XXXXXX)}
mkdir -p "$W"
BIN=$ROOT/target/release/feedsift
EX=$ROOT/target/release/examples
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ "${KEEP:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT

log() { echo "bench: $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for tool in wrk nginx; do
    if ! command -v "$tool" >/dev/null; then
        log "installing $tool"
        (apt-get install -y -qq "$tool" >/dev/null 2>&1 || sudo -n apt-get install -y -qq "$tool" >/dev/null 2>&1) \
            || log "$tool: not available, its rows stay empty"
    fi
done

log "building (release)"
(cd "$ROOT" && cargo build --release --locked --bin feedsift --example farm --example baseline --example pager 2>&1 | tail -1 >&2)

# --- the farm -------------------------------------------------------------------------------
"$EX/farm" --feeds "$FEEDS" --items "$ITEMS" --hosts "$HOSTS" --config-out "$W/feeds.toml" >"$W/farm.url" 2>"$W/farm.log" &
PIDS+=($!)
for _ in $(seq 600); do [ -s "$W/farm.url" ] && break; sleep 0.1; done
FARM=$(head -1 "$W/farm.url")
[ -n "$FARM" ] || { cat "$W/farm.log" >&2; exit 1; }
PORT=$(free_port)
sed -i "s|^\[service\]|[service]\nlisten = \"127.0.0.1:$PORT\"|" "$W/feeds.toml"
[ "${COMPRESS:-0}" = 1 ] && sed -i "s|^\[service\]|[service]\ncompress_store = true|" "$W/feeds.toml"
log "farm at $FARM: $(tail -n +1 "$W/farm.log" | head -1)"
farm_stat() { curl -s "${FARM}_stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

ROWS=()
row() { ROWS+=("$(printf '| %s | %s | %s | %s | %s | %s |' "$@")"); }
store_bytes() { du -sb "$W/data" 2>/dev/null | cut -f1; }
stored_items() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^feedsift_stored_items /{print $2}'; }

# One `poll --once` under /usr/bin/time: sets WALL, RSS_MB, NEW (items written).
poll() {
    (cd "$W" && /usr/bin/time -v "$BIN" poll --once >"$W/poll.out" 2>"$W/poll.time") || { cat "$W/poll.out" "$W/poll.time" >&2; exit 1; }
    WALL=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$W/poll.time")
    RSS_MB=$(awk -F': ' '/Maximum resident set size/{printf "%.0f", $2/1024}' "$W/poll.time")
    CPU=$(awk -F': ' '/Percent of CPU/{print $2}' "$W/poll.time")
    NEW=$(sed -n 's/.*items: \([0-9]*\) new.*/\1/p' "$W/poll.out" | tail -1)
    UPD=$(sed -n 's/.*new, \([0-9]*\) updated.*/\1/p' "$W/poll.out" | tail -1)
    tail -1 "$W/poll.out" >&2
}

# --- references: bare feed-rs and bare sled over the same bytes -------------------------------
log "baseline: bare feed-rs and bare sled"
"$EX/baseline" --config "$W/feeds.toml" --dir "$W/sled-ceiling" >"$W/baseline.out"
cat "$W/baseline.out" >&2
kv() { grep -o "$1=[0-9.]*" "$W/baseline.out" | head -1 | cut -d= -f2; }
FEEDRS=$(kv feedrs_items_per_sec)
SLED=$(kv sled_inserts_per_sec)
row "bare feed-rs parse, 1 core" "$(kv feedrs_secs) s" "$FEEDRS items/s" "" "" "reference: $(kv feedrs_items) entries, $(( $(kv bytes) / 1000000 )) MB"
row "bare sled insert + flush, 1 core" "$(kv sled_secs) s" "$SLED inserts/s" "" "$(kv sled_bytes_per_record) B/record" "ceiling: $(kv sled_records) records of $(kv sled_record_bytes) B"

# --- cold ------------------------------------------------------------------------------------
log "cold: $FEEDS feeds × $ITEMS items, empty store"
s200=$(farm_stat 200)
poll
ENTRIES=$((FEEDS * ITEMS))
RATE=$(python3 -c "print(round($ENTRIES/$WALL))")
row "cold, $FEEDS × $ITEMS, empty store" "$WALL s ($CPU CPU)" "$RATE entries/s ($NEW stored)" "$RSS_MB MB" "$(( $(store_bytes) / (NEW>0?NEW:1) )) B/item" \
    "$(python3 -c "print(f'{$RATE/$FEEDRS:.2f}')") × bare feed-rs, $(python3 -c "print(f'{$RATE/$SLED:.2f}')") × bare sled; $(( $(farm_stat 200) - s200 )) × 200"
COLD_NEW=$NEW

if [ "$FILL" = 1 ]; then
    log "fill: every feed publishes $ITEMS more"
    curl -s -X POST "${FARM}_change?pct=100&new=$ITEMS" >/dev/null
    poll
    FILL_RATE=$(python3 -c "print(round($ENTRIES/$WALL))")
    row "fill: every feed $ITEMS new" "$WALL s ($CPU CPU)" "$FILL_RATE entries/s ($NEW stored)" "$RSS_MB MB" "$(( $(store_bytes) / (COLD_NEW + NEW) )) B/item" "store now $((COLD_NEW + NEW)) items"
fi

log "warm: all unchanged"
s200=$(farm_stat 200); s304=$(farm_stat 304)
poll
row "warm, all unchanged" "$WALL s" "$(( $(farm_stat 304) - s304 )) × 304, $(( $(farm_stat 200) - s200 )) × 200" "$RSS_MB MB" "" "$NEW items written"

log "10% of feeds changed"
curl -s -X POST "${FARM}_change?pct=10" >/dev/null
s200=$(farm_stat 200); s304=$(farm_stat 304)
poll
row "10% of feeds changed" "$WALL s" "$(( $(farm_stat 200) - s200 )) × 200, $(( $(farm_stat 304) - s304 )) × 304" "$RSS_MB MB" "$(store_bytes | awk '{printf "%.0f MB", $1/1e6}')" "$NEW new + ${UPD:-0} updated written"

# --- serve: start-up, HTTP, paging ------------------------------------------------------------
log "start-up"
start=$(date +%s.%N)
(cd "$W" && exec "$BIN" serve >"$W/serve.log" 2>&1) &
SERVE=$!
PIDS+=($SERVE)
until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do
    kill -0 $SERVE 2>/dev/null || { cat "$W/serve.log" >&2; exit 1; }
    sleep 0.01
done
UP=$(python3 -c "import time; print(f'{time.time()-$start:.2f}')")
ITEMS_STORED=$(stored_items)
row "start-up, ${ITEMS_STORED:-?} items stored" "$UP s to /healthz" "" "" "" ""
# The near-duplicate index is built from the store on a thread of its own after start-up;
# ingest waits for it, serving does not.
for _ in $(seq 600); do grep -q "near-duplicate index built" "$W/serve.log" && break; sleep 0.1; done
IX=$(grep -o 'near-duplicate index built.*' "$W/serve.log" | head -1)
row "near-duplicate index built in memory" "$(grep -o 'took_ms=[0-9]*' <<<"$IX" | cut -d= -f2) ms after start" "" "" "" "$(grep -o 'items=[0-9]*' <<<"$IX" | cut -d= -f2) stories, $(grep -o 'entries=[0-9]*' <<<"$IX" | cut -d= -f2) entries"

curl -s "http://127.0.0.1:$PORT/feeds/merged.rss?limit=100" >"$W/merged.rss"
SIZE=$(stat -c %s "$W/merged.rss")
wrk_row() { # name url [connections] [lua script]
    if ! command -v wrk >/dev/null; then row "$1" "wrk missing" "" "" "" ""; return; fi
    wrk -t2 -c"${3:-$CONNECTIONS}" -d"${DURATION}s" --latency ${4:+-s "$4"} "$2" >"$W/wrk.out" 2>&1
    RPS=$(awk '/Requests\/sec/{printf "%.0f", $2}' "$W/wrk.out")
    P99=$(awk '$1=="99%"{print $2}' "$W/wrk.out")
    ERR=$(grep -o 'Non-2xx or 3xx responses: [0-9]*' "$W/wrk.out" || true)
}
log "HTTP: merged.rss ($SIZE bytes) × $CONNECTIONS connections"
curl -s "http://127.0.0.1:$PORT/feeds/merged.rss?limit=100" >/dev/null
wrk_row "merged" "http://127.0.0.1:$PORT/feeds/merged.rss?limit=100"
FS_RPS=${RPS:-0}
row "/feeds/merged.rss?limit=100, hot, $CONNECTIONS conns" "${DURATION} s" "$FS_RPS req/s" "" "$SIZE B" "p99 ${P99:-?} ${ERR:-}"
if command -v nginx >/dev/null; then
    NPORT=$(free_port)
    mkdir -p "$W/nginx/www"
    cp "$W/merged.rss" "$W/nginx/www/merged.rss"
    cat >"$W/nginx/nginx.conf" <<EOF
worker_processes 2;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    types { application/rss+xml rss; }
    server { listen 127.0.0.1:$NPORT; root $W/nginx/www; }
}
EOF
    # nginx's workers run as `nobody`: the file must be readable by them, and mktemp makes the
    # work directory private (until 2026-12-01 the reference measured 153-byte 403 answers).
    chmod 755 "$W" "$W/nginx" "$W/nginx/www"
    chmod 644 "$W/nginx/www/merged.rss"
    nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" -g 'daemon off;' &
    PIDS+=($!)
    sleep 0.5
    GOT=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$NPORT/merged.rss")
    if [ "$GOT" != "200 $SIZE" ]; then
        row "nginx, same bytes as a static file" "not measured" "" "" "" "nginx answered $GOT, not 200 $SIZE"
    else
        wrk_row "nginx" "http://127.0.0.1:$NPORT/merged.rss"
        row "nginx, same bytes as a static file" "${DURATION} s" "$RPS req/s" "" "$SIZE B" "p99 ${P99:-?} ${ERR:-}; feedsift = $(python3 -c "print(f'{$FS_RPS/max($RPS,1):.2f}')") × nginx"
    fi
else
    row "nginx, same bytes as a static file" "nginx missing" "" "" "" ""
fi

log "HTTP: ad-hoc filtered query (a max_age unique per request: every request misses the render cache) × 16 connections"
if command -v wrk >/dev/null; then
    cat >"$W/adhoc.lua" <<'EOF'
-- A max_age no request repeats (random hours above 100,000: every stored item qualifies), so
-- each request renders from the store.
init = function(args)
    math.randomseed(math.floor(os.clock() * 1e6) + os.time() + (tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000))
end
request = function()
    return wrk.format("GET", "/feeds/merged.rss?limit=100&max_age=" .. math.random(100000, 2000000000) .. "h")
end
EOF
    wrk_row "adhoc" "http://127.0.0.1:$PORT" 16 "$W/adhoc.lua"
    row "ad-hoc filtered query (unique max_age), 16 conns" "${DURATION} s" "${RPS:-0} req/s" "" "" "p99 ${P99:-?} ${ERR:-}"
else
    row "ad-hoc filtered query (unique max_age), 16 conns" "wrk missing" "" "" "" ""
fi

log "/api/items paging"
PAGE_MAX=$(( ITEMS_STORED < 500000 ? ITEMS_STORED : 500000 ))
# The client decodes every page on the same two cores. Two clients: one that asks for the next
# page as soon as a page's `Link: rel="next"` header arrives (the server writes page N + 1 while
# the client decodes page N), and one that takes the cursor from the body and asks after
# decoding it (client and server take turns). The server's own CPU time (from /proc) is in the
# notes.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for MODE in link serial; do
    FLAG=""
    [ "$MODE" = serial ] && FLAG="--serial"
    T0=$(cpu_ticks "$SERVE")
    "$EX/pager" --base "http://127.0.0.1:$PORT" --max "$PAGE_MAX" $FLAG >"$W/pager.out"
    T1=$(cpu_ticks "$SERVE")
    PAGED=$(grep -o 'items=[0-9]*' "$W/pager.out" | cut -d= -f2)
    SERVER_RATE=$(python3 -c "t=($T1-$T0)/$(getconf CLK_TCK); print(f'server CPU {t:.1f} s = {$PAGED/max(t,0.01):,.0f} items per CPU-second')")
    WHO="1 client following \`Link: rel=next\`"
    [ "$MODE" = serial ] && WHO="1 client, next request after decoding"
    row "/api/items paging, $WHO" "$(grep -o 'secs=[0-9.]*' "$W/pager.out" | cut -d= -f2) s" "$(grep -o 'items_per_sec=[0-9]*' "$W/pager.out" | cut -d= -f2) items/s" "" "" "$PAGED items, limit 1000; $SERVER_RATE"
done
SERVE_RSS=$(awk '/VmHWM/{printf "%.0f", $2/1024}' /proc/$SERVE/status)
row "serve: peak RSS over start-up, HTTP and paging" "" "" "$SERVE_RSS MB" "" ""

echo
echo "feedsift load harness — $(date -u +%Y-%m-%d), $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $FEEDS feeds × $ITEMS items on $HOSTS hosts, compress_store=${COMPRESS:-0}"
echo
echo "| scenario | wall | throughput | peak RSS | size | notes |"
echo "| --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${ROWS[@]}"

if [ "${BIGDOC:-0}" = 1 ]; then
    echo
    "$ROOT/scripts/bigdoc-bench.sh"
fi
