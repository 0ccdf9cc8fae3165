#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# curl, a client no one here wrote, fetches pages from the areq example's HTTP/1.1 server
# (areq --serve 3): a page (200, its Content-Length honoured), a missing page (404) and a DELETE
# (405); then the server stops by itself after those 3 requests. Everything bounded in time.
#
#   bash tests/interop/curl_areq.sh <path to the areq program>
#
# Exit codes: 0 passed, 1 failed, 77 skipped (curl is not installed: bash scripts/deps.sh curl).
set -euo pipefail

areq=${1:?usage: curl_areq.sh <path to areq>}
if ! command -v curl >/dev/null 2>&1; then
    echo "SKIP: curl is not installed (bash scripts/deps.sh curl)"
    exit 77
fi

dir=$(mktemp -d)
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
fail() {
    echo "FAILED: $*"
    echo "--- areq's output:"
    cat "$dir/serve.txt" "$dir/serve.err" 2>/dev/null || true
    exit 1
}

# Created here: the background job opens them in a subshell, perhaps after the first sed below.
: >"$dir/serve.txt"
: >"$dir/serve.err"
timeout 60 "$areq" --serve 3 >"$dir/serve.txt" 2>"$dir/serve.err" &
pid=$!
url=""
for _ in $(seq 200); do
    url=$(sed -n 's/^serving on //p' "$dir/serve.txt")
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || fail "areq --serve exited before printing its address"
    sleep 0.05
done
[ -n "$url" ] || fail "areq --serve printed no address within 10 s"
case "$url" in
    http://127.0.0.1:*/page/0) ;;
    *) fail "unexpected address '$url'" ;;
esac
site=${url%/page/0}

# 1. A page: curl checks the body against Content-Length (a short body is an error, exit 18).
got=$(curl --silent --show-error --http1.1 --max-time 10 -o "$dir/page0.html" \
           -w '%{http_code} %{content_type} %{size_download}' "$url") || fail "curl $url"
size=$(wc -c <"$dir/page0.html")
[ "$got" = "200 text/html; charset=utf-8 $size" ] || fail "GET $url gave '$got'"
grep -q '<h1>Page 0</h1>' "$dir/page0.html" || fail "page 0 has no heading"
grep -q 'href="/page/0"' "$dir/page0.html" || fail "page 0 has no link to itself"
echo "ok: GET /page/0: $got"

# 2. A missing page.
got=$(curl --silent --show-error --http1.1 --max-time 10 -o "$dir/missing.txt" \
           -w '%{http_code}' "$site/missing") || fail "curl $site/missing"
[ "$got" = 404 ] || fail "GET /missing gave $got"
[ "$(cat "$dir/missing.txt")" = "no page at /missing" ] || fail "404 body: $(cat "$dir/missing.txt")"
echo "ok: GET /missing: 404"

# 3. Another method (without a body: the server reads no body, and closing a socket with unread
# bytes would reset the connection).
got=$(curl --silent --show-error --http1.1 --max-time 10 -o /dev/null -w '%{http_code}' \
           --request DELETE "$url") || fail "curl DELETE $url"
[ "$got" = 405 ] || fail "DELETE gave $got"
echo "ok: DELETE /page/0: 405"

# The server stops by itself once it has answered 3 requests.
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" = 0 ] || fail "areq --serve exited with $rc"
[ "$(tail -n 1 "$dir/serve.txt")" = "served 3 requests" ] || fail "last line: $(tail -n 1 "$dir/serve.txt")"
[ ! -s "$dir/serve.err" ] || fail "areq wrote to stderr"
echo "ok: areq --serve 3 stopped after 3 requests"
