#!/usr/bin/env bash
# Makes docs/web-timeline.png, the README's picture of `regfs serve`'s
# alias timeline: a demo-like `models` collection whose aliases move a few
# times, served on a free port and shot with headless Chromium.
#
# Usage: docs/web-timeline.sh [REGFS_BINARY]   (default: build/regfs)
set -euo pipefail

cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/regfs}")
tmp=$(mktemp -d /tmp/regfs-web-timeline-XXXXXX)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

regfs() { "$bin" --store "$tmp/store" "$@" >/dev/null; }
regfs init
for i in 0 1 2 3; do
  echo "weights $i" >"$tmp/model.pt"
  regfs push models "$tmp/model.pt" --meta "accuracy=0.8$i"
  case $i in
    0) regfs protect production
       regfs alias set models production v0
       regfs alias set models staging v0 ;;
    1) regfs alias set models candidate v1
       regfs alias set models staging v1 ;;
    2) regfs alias set models candidate v2
       regfs alias set models production v1 ;;
    3) regfs alias set models staging v2
       regfs alias set models candidate v3
       regfs alias set models production v2 ;;
  esac
done

mkfifo "$tmp/out"
"$bin" --store "$tmp/store" serve --listen 127.0.0.1:0 >"$tmp/out" &
pid=$!
exec 3<"$tmp/out"
read -r -t 20 -u 3 line
url=$(sed -E 's/^serving (http[^ ]+) .*/\1/' <<<"$line")
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --user-data-dir="$tmp/profile" --window-size=1180,448 \
  --screenshot="$PWD/docs/web-timeline.png" "$url/c/models/timeline" \
  2>/dev/null
echo "wrote docs/web-timeline.png"
