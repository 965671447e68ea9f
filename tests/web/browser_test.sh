#!/usr/bin/env bash
# The web view in a real browser (issue 16): `regfs serve` on a free port
# over a small store whose metadata, description and file names are
# hostile; headless Chromium loads each page once, dumping its DOM and
# taking a screenshot (kept in $REGFS_WEB_ARTIFACTS). The test fails on
# any console message (a script error, or a script or style the
# Content-Security-Policy refused, which only an unescaped value could
# bring), on any <script> or <img> element in the DOM, and on a page that
# lacks what it must show.
#
# Environment: REGFS_BINARY (the regfs under test), REGFS_WEB_ARTIFACTS
# (where the screenshots and DOMs go). Needs Debian's `chromium`.
set -euo pipefail

: "${REGFS_BINARY:?REGFS_BINARY must name the regfs binary}"
: "${REGFS_WEB_ARTIFACTS:?REGFS_WEB_ARTIFACTS must name a directory}"

fail() { echo "browser_test: FAIL: $*" >&2; exit 1; }

chromium_bin=$(command -v chromium || true)
[[ -n $chromium_bin ]] ||
  fail "chromium is not installed (packaging/install-deps.sh installs it)"

tmp=$(mktemp -d /tmp/regfs-browser-XXXXXX)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

rm -rf "$REGFS_WEB_ARTIFACTS"
mkdir -p "$REGFS_WEB_ARTIFACTS"

store=$tmp/store
regfs() { "$REGFS_BINARY" --store "$store" "$@" >/dev/null; }

# Values that would run or inject markup if a page pasted them unescaped.
readonly hostile_meta='<img src=x onerror="document.title=&quot;XSS&quot;">'
readonly hostile_desc='<script>document.title="XSS"</script> and "quotes"'
readonly hostile_file='"><img src=x onerror=alert(1)>.bin'

regfs init
mkdir -p "$tmp/files/zoo/sub"
echo "weights 0" >"$tmp/files/model.pt"
regfs push models "$tmp/files/model.pt" --tag baseline \
  --meta "note=$hostile_meta" --description "$hostile_desc"
echo "weights 1" >"$tmp/files/model.pt"
regfs push models "$tmp/files/model.pt" --alias candidate
regfs protect production
regfs alias set models production v0
regfs alias set models production v1
echo x >"$tmp/files/zoo/$hostile_file"
echo cat >"$tmp/files/zoo/sub/labels.txt"
regfs push zoo "$tmp/files/zoo"

# Start the server and read its first line through a FIFO, so the wait
# ends as soon as it listens.
mkfifo "$tmp/serve.out"
"$REGFS_BINARY" --store "$store" serve --listen 127.0.0.1:0 \
  >"$tmp/serve.out" 2>"$tmp/serve.err" &
server_pid=$!
exec 3<"$tmp/serve.out"
read -r -t 20 -u 3 line ||
  fail "regfs serve did not start: $(cat "$tmp/serve.err")"
[[ $line =~ ^serving\ (http://127\.0\.0\.1:[0-9]+)\ read-only ]] ||
  fail "unexpected first line: $line"
base=${BASH_REMATCH[1]}

pages=0
# check_page NAME PATH EXPECTED...: loads PATH once; the DOM must contain
# every EXPECTED string (fixed strings).
check_page() {
  local name=$1 path=$2
  shift 2
  local dom=$REGFS_WEB_ARTIFACTS/$name.html log=$REGFS_WEB_ARTIFACTS/$name.log
  "$chromium_bin" --headless --no-sandbox --disable-gpu \
    --user-data-dir="$tmp/profile" --no-first-run --hide-scrollbars \
    --enable-logging=stderr --v=0 --window-size=1280,1000 \
    --screenshot="$REGFS_WEB_ARTIFACTS/$name.png" --dump-dom \
    "$base$path" >"$dom" 2>"$log" ||
    fail "$name: chromium failed: $(tail -5 "$log")"
  [[ -s $dom ]] || fail "$name: chromium dumped no DOM"
  [[ -s $REGFS_WEB_ARTIFACTS/$name.png ]] || fail "$name: no screenshot"
  if grep -E 'CONSOLE|Uncaught|Refused to' "$log"; then
    fail "$name: the page logged the console messages above"
  fi
  if grep -Eio '<(script|img|iframe|object|embed)[ >]' "$dom"; then
    fail "$name: an element above is in the DOM"
  fi
  if grep -q '<title>XSS' "$dom"; then fail "$name: a hostile script ran"; fi
  local want
  for want in "$@"; do
    grep -qF -- "$want" "$dom" || fail "$name: the DOM lacks '$want'"
  done
  pages=$((pages + 1))
}

check_page collections / 'href="/c/models"' 'href="/c/zoo"' \
  'class="badge protected"'
check_page collection /c/models 'data-alias="production"' \
  'data-alias="candidate"' 'class="badge protected"' \
  '&lt;img src=x onerror="document.title=&amp;quot;XSS&amp;quot;"&gt;' \
  '&lt;script&gt;document.title="XSS"&lt;/script&gt;'
check_page version /c/zoo/v0 'sub/labels.txt' \
  '"&gt;&lt;img src=x onerror=alert(1)&gt;.bin'
check_page timeline /c/models/timeline '<svg' 'production → v1' \
  'alias.move'
check_page history /history 'alias.move' 'version.create' 'protect'
check_page search '/search?q=onerror' 'class="search-metadata"' \
  'class="search-file"' 'name="q"'

echo "browser_test: $pages pages passed; screenshots in $REGFS_WEB_ARTIFACTS"
