#!/usr/bin/env bash
# Renders feedsift's index page in headless Chromium and saves a screenshot (docs/index.png).
# Needs Debian's chromium (apt-get install chromium). Uses the demo: bundled sample feeds only.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-18123}
dir=$(mktemp -d)
cargo build --release --quiet
target/release/feedsift demo --listen "127.0.0.1:$port" --dir "$dir" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 50); do
    curl -sf "http://127.0.0.1:$port/feeds/merged.json" | grep -q '"title"' && break
    sleep 0.2
done
# A page that must render: the outputs, the 24 h counts, the source table.
page=$(curl -sf "http://127.0.0.1:$port/")
for want in "Feeds to subscribe to" "Last 24 hours" "Sources"; do
    grep -q "$want" <<<"$page" || { echo "index page lacks: $want" >&2; exit 1; }
done
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$dir/chrome" --window-size=1100,900 \
    --screenshot="docs/index.png" "http://127.0.0.1:$port/" 2>/dev/null
echo "wrote docs/index.png"
