#!/usr/bin/env bash
# Checks feedsift's pages in a real browser and writes their screenshots.
#
# Runs the demo (bundled sample feeds only, no internet) with an admin token, then:
#  - headless Chromium loads /, /outputs/merged (and a filtered river) and /sources and the
#    rendered DOM must show items and feeds (--dump-dom, grepped);
#  - the admin sign-in form is driven with curl, as a browser would post it: its cookie, its
#    CSRF token, a refused wrong token, a refused missing CSRF token, poll now, relabel an item
#    in place (refused with a wrong CSRF token; then in the lifestyle river at once), sign out;
#  - Chromium writes docs/page-index.png, docs/page-output.png, docs/page-sources.png,
#    docs/page-output-phone.png (390 px wide), docs/page-signin.png and the signed-in river
#    docs/page-output-admin.png (with the relabel forms), which the README shows.
#
# Needs Debian's chromium and a CJK font (apt-get install -y chromium fonts-noto-cjk).
# PROFILE=release builds the release binary instead of the debug one.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-18123}
base="http://127.0.0.1:$port"
dir=$(mktemp -d)
token="browser-check-$RANDOM$RANDOM"
profile=${PROFILE:-dev}
cargo build --quiet --profile "$profile"
bin=target/$([ "$profile" = dev ] && echo debug || echo "$profile")/feedsift
FEEDSIFT_ADMIN_TOKEN=$token "$bin" demo --listen "127.0.0.1:$port" --dir "$dir/demo" 2>"$dir/demo.log" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do
    curl -sf "$base/feeds/merged.json" | grep -q '"title"' && break
    sleep 0.2
done
# Let all four sample feeds be polled once.
for _ in $(seq 1 50); do
    [ "$(curl -sf "$base/api/sources" | grep -o '"last_fetch":"' | wc -l)" -ge 4 ] && break
    sleep 0.2
done

fail() { echo "browser-check: $*" >&2; exit 1; }
chrome() {
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$dir/chrome" --hide-scrollbars "$@" 2>/dev/null
}
dom() { chrome --dump-dom "$base$1"; }
# at least N matches of a pattern in a page's DOM
want() {
    local path=$1 n=$2 pattern=$3 got
    got=$(dom "$path" | grep -o "$pattern" | wc -l)
    [ "$got" -ge "$n" ] || fail "$path: wanted $n× '$pattern', the browser shows $got"
    echo "ok: $path shows $got× '$pattern'"
}

# The pages, as the browser renders them.
want / 4 'class="card output"'
want / 10 '<ol class="newest">\|rel="noopener noreferrer">[^<]'
want / 1 'A股三大指数集体收涨'
want / 1 '/feeds/finance.rss'
want / 1 'finance: <b>'
want /outputs/merged 10 '<article class="item"'
want /outputs/merged 1 'class="chip cat'
want /outputs/merged 1 'class="chip region"'
want '/outputs/merged?category=finance' 1 '<article class="item"'
want '/outputs/merged?limit=3' 1 'class="older"'
[ "$(dom '/outputs/merged?category=lifestyle' | grep -c 'cat-finance')" -eq 0 ] \
    || fail "?category=lifestyle shows finance items"
want /sources 4 'class="card source'
want /sources 1 'Admin'
dom /sources | grep -q 'Poll now' && fail "/sources offers poll now before sign-in"

# The admin's form, as a browser posts it.
jar="$dir/cookies"
signin=$(curl -sf -c "$jar" -b "$jar" "$base/signin")
csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' <<<"$signin" | head -1)
[ -n "$csrf" ] || fail "/signin has no CSRF token"
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" --data-urlencode "token=$token" "$base/signin")
[ "$code" = 403 ] || fail "sign-in without its CSRF token: $code, not 403"
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" --data "csrf=$csrf" --data "token=wrong" "$base/signin")
[ "$code" = 401 ] || fail "a wrong admin token: $code, not 401"
headers=$(curl -s -D - -o /dev/null -c "$jar" -b "$jar" --data "csrf=$csrf" --data-urlencode "token=$token" "$base/signin")
grep -qi '^set-cookie: feedsift_session=[0-9a-f]\{64\}; Path=/; HttpOnly; SameSite=Strict' <<<"$headers" \
    || fail "sign-in set no HttpOnly SameSite=Strict session cookie: $headers"
grep -q "$token" <<<"$headers" && fail "the admin token is in the response"
echo "ok: signed in (HttpOnly, SameSite=Strict cookie; wrong token 401, missing CSRF 403)"
sources=$(curl -sf -b "$jar" "$base/sources")
grep -q 'Poll now' <<<"$sources" || fail "signed in, /sources offers no poll now"
csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' <<<"$sources" | head -1)
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" --data "csrf=0$csrf" "$base/sources/money/poll")
[ "$code" = 403 ] || fail "poll now with a wrong CSRF token: $code, not 403"
loc=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -b "$jar" --data "csrf=$csrf" "$base/sources/money/poll")
[ "$loc" = "303 $base/sources?polled=money" ] || fail "poll now: $loc"
curl -sf -b "$jar" "$base/sources?polled=money" | grep -q 'A poll of <b>money</b> was queued' \
    || fail "no word that the poll was queued"
for _ in $(seq 1 50); do
    grep -q 'poll now, asked from /sources' "$dir/demo.log" && break
    sleep 0.1
done
echo "ok: poll now queued from /sources"
# Relabel in place: the river's form, as a browser posts it; the item moves at once.
river=$(curl -sf -b "$jar" "$base/outputs/merged")
grep -q 'class="relabel"' <<<"$river" || fail "signed in, the river offers no relabel form"
action=$(sed -n 's/.*<form class="relabel" method="post" action="\([^"]*\)".*/\1/p' <<<"$river" | head -1)
back=$(sed -n 's/.*name="back" value="\([^"]*\)".*/\1/p' <<<"$river" | head -1 | sed 's/&amp;/\&/g')
key=${action#/api/items/}; key=${key%/label}
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" --data "csrf=0$csrf" --data label=lifestyle "$base$action")
[ "$code" = 403 ] || fail "relabel with a wrong CSRF token: $code, not 403"
loc=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" --data "csrf=$csrf" --data label=lifestyle --data-urlencode "back=$back" "$base$action")
[ "$loc" = 303 ] || fail "relabel: $loc, not 303"
curl -sf "$base/outputs/merged?category=lifestyle" | grep -q "story-$key" || fail "relabelled item not in the lifestyle river"
curl -s -o /dev/null -b "$jar" --data "csrf=$csrf" --data label=other "$base$action"
curl -sf "$base/outputs/merged?category=other" | grep -q "story-$key" || fail "relabelled item not back in the other river"
echo "ok: relabelled $key in place (wrong CSRF 403, then 303 and in the lifestyle river; then back to other)"
# The signed-in river, as the admin sees it (headless Chromium has no cookie flag: the page is
# saved with its base URL and loaded from disk).
curl -sf -b "$jar" "$base/outputs/merged" | sed "s|<head>|<head><base href=\"$base/\">|" >"$dir/admin-river.html"
chrome --window-size=1280,1300 --screenshot=docs/page-output-admin.png "file://$dir/admin-river.html"
[ -s docs/page-output-admin.png ] || fail "no screenshot docs/page-output-admin.png"
echo "wrote docs/page-output-admin.png"
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" -c "$jar" --data "csrf=$csrf" "$base/signout")
[ "$code" = 303 ] || fail "sign out: $code"
curl -sf -b "$jar" "$base/sources" | grep -q 'Poll now' && fail "still signed in after signing out"
echo "ok: signed out"

# Screenshots.
shot() {
    chrome --window-size="$2" --screenshot="docs/$1" "$base$3"
    [ -s "docs/$1" ] || fail "no screenshot docs/$1"
    echo "wrote docs/$1"
}
shot page-index.png 1280,1500 /
shot page-output.png 1280,1300 /outputs/merged
shot page-sources.png 1280,1100 /sources
shot page-output-phone.png 390,1400 '/outputs/merged'
shot page-signin.png 1000,560 /signin
