#!/usr/bin/env bash
# Installs the local S3-compatible server of the tests, @20minutes/s3rver
# (which checks SigV4 signatures), with `npm ci` from the committed lock
# file packaging/s3rver/package-lock.json, into DEST (default:
# .deps/s3rver in the repository, which git ignores). Run it as the user
# who runs the tests (root in CI). A second run with the same lock file
# does no npm work at all: DEST keeps a stamp of the lock's hash.
#
# Usage: packaging/install-s3rver.sh [DEST]
# Then: node DEST/launch.js -d DATADIR -a 127.0.0.1 -p PORT
#         --configure-bucket BUCKET
# Needs Node.js and npm: packaging/install-deps.sh installs Debian's when
# the machine has none.
set -euo pipefail

die() { printf 'install-s3rver: %s\n' "$*" >&2; exit 1; }

for tool in node npm; do
  command -v "$tool" > /dev/null 2>&1 ||
    die "no '$tool' on PATH: run packaging/install-deps.sh"
done

SRC=$(cd "$(dirname "$0")/s3rver" && pwd)
readonly SRC
DEST=${1:-$(cd "$SRC/../.." && pwd)/.deps/s3rver}
readonly DEST

# The hash of what npm installs from; the launcher is copied every time
# (no network, and an edited launcher needs no new install).
stamp=$(cat "$SRC/package.json" "$SRC/package-lock.json" | sha256sum)
stamp=${stamp%% *}
mkdir -p "$DEST"
cp "$SRC/launch.js" "$DEST/launch.js"
if [[ -f $DEST/.installed && $(< "$DEST/.installed") == "$stamp" &&
      -f $DEST/node_modules/@20minutes/s3rver/lib/cli.js ]]; then
  echo "install-s3rver: up to date in $DEST"
  exit 0
fi

rm -f "$DEST/.installed"
cp "$SRC/package.json" "$SRC/package-lock.json" "$DEST/"
# --loglevel=error: the package declares node >= 24 but runs on Debian's
# Node.js; npm's EBADENGINE warning about it is noise here. No install
# scripts run (none of these packages has one).
(cd "$DEST" && npm ci --no-audit --no-fund --ignore-scripts \
   --loglevel=error > npm-ci.log 2>&1) ||
  die "npm ci failed in $DEST: $(tail -n 5 "$DEST/npm-ci.log")"
echo "$stamp" > "$DEST/.installed"
echo "install-s3rver: installed @20minutes/s3rver" \
  "$(node -p 'require(process.argv[1]).version' \
    "$DEST/node_modules/@20minutes/s3rver/package.json")" \
  "in $DEST"
