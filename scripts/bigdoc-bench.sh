#!/usr/bin/env bash
# One big feed document (issue 18's budget row): a fresh store, one feed, one `poll --once`.
#
#   scripts/bigdoc-bench.sh                     # 5,000 and 20,000 items, look-alike and random titles
#   SIZES="20000" KINDS=lookalike scripts/bigdoc-bench.sh
#
# Writes each document with examples/bigdoc.rs (20,000 entries ≈ 8.5 MB, inside the 10 MiB
# body cap), serves it from `python3 -m http.server` on loopback and times one
# `feedsift poll --once` on an empty store under /usr/bin/time. Budget: 20,000 entries
# (look-alike or random titles) in ≤ 5 s and ≤ 200 MB peak RSS, cost linear in the entries.
# Prints one Markdown table. Environment: SIZES, KINDS, BIN (target/release/feedsift),
# BENCH_DIR (a fresh temporary directory), KEEP (1: keep BENCH_DIR). Also run by
# scripts/bench.sh with BIGDOC=1.
set -euo pipefail

SIZES=${SIZES:-"5000 20000"}
KINDS=${KINDS:-"lookalike random"}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=${BENCH_DIR:-$(mktemp -d /tmp/feedsift-bigdoc.XXXXXX)}
BIN=${BIN:-$ROOT/target/release/feedsift}
GEN=$ROOT/target/release/examples/bigdoc
mkdir -p "$W/www"
SERVER=""
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    wait 2>/dev/null || true
    [ "${KEEP:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT
log() { echo "bigdoc: $*" >&2; }

if [ -z "${BIN_GIVEN:-}" ] && [ "$BIN" = "$ROOT/target/release/feedsift" ]; then
    log "building (release)"
    (cd "$ROOT" && cargo build --release --locked --bin feedsift --example bigdoc 2>&1 | tail -1 >&2)
else
    (cd "$ROOT" && cargo build --release --locked --example bigdoc 2>&1 | tail -1 >&2)
fi

for n in $SIZES; do
    for k in $KINDS; do
        "$GEN" --items "$n" --titles "$k" --out "$W/www/$k-$n.rss"
    done
done
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$W/www" && exec python3 -m http.server "$PORT" --bind 127.0.0.1 >"$W/http.log" 2>&1) &
SERVER=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/" >/dev/null && break; sleep 0.1; done

ROWS=()
for n in $SIZES; do
    for k in $KINDS; do
        d="$W/run-$k-$n"
        rm -rf "$d"
        mkdir -p "$d"
        printf '[service]\ndata_dir = "data"\n\n[[feed]]\nid = "big"\nurl = "http://127.0.0.1:%s/%s-%s.rss"\n' "$PORT" "$k" "$n" >"$d/feeds.toml"
        log "$n entries, $k titles ($(uptime | sed 's/.*load average: //'))"
        (cd "$d" && /usr/bin/time -v "$BIN" poll --once >"$d/poll.out" 2>"$d/poll.time") || { cat "$d/poll.out" "$d/poll.time" >&2; exit 1; }
        WALL=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$d/poll.time")
        RSS_MB=$(awk -F': ' '/Maximum resident set size/{printf "%.0f", $2/1024}' "$d/poll.time")
        CPU=$(awk -F': ' '/Percent of CPU/{print $2}' "$d/poll.time")
        NEW=$(sed -n 's/.*items: \([0-9]*\) new.*/\1/p' "$d/poll.out" | tail -1)
        BYTES=$(stat -c %s "$W/www/$k-$n.rss")
        tail -1 "$d/poll.out" >&2
        ROWS+=("$(printf '| one document, %s entries, %s titles | %s s (%s CPU) | %s MB | %s stored | %.1f MB |' "$n" "$k" "$WALL" "$CPU" "$RSS_MB" "${NEW:-?}" "$(python3 -c "print($BYTES/1e6)")")")
    done
done

echo
echo "feedsift one big document — $(date -u +%Y-%m-%d), $(nproc) cores, load $(uptime | sed 's/.*load average: //')"
echo
echo "| scenario | wall | peak RSS | stored | document |"
echo "| --- | --- | --- | --- | --- |"
printf '%s\n' "${ROWS[@]}"
