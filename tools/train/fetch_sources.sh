#!/usr/bin/env bash
# Installs well-known npm packages (sources only, no install scripts) into DIR (default tools/train/work/npm):
# the offline code corpus. Licenses and versions are read from each package.json by the corpus stage.
# GLIMPSE_SMOKE=1 installs a handful of small packages only (the CI smoke pipeline).
# Note: `npm install --no-save` prunes packages not named in the same call, so DIR holds only this list.
set -euo pipefail
DIR="${1:-$(cd "$(dirname "$0")" && pwd)/work/npm}"
mkdir -p "$DIR"
cd "$DIR"
[ -f package.json ] || echo '{"name":"glimpse-corpus","private":true}' > package.json
PKGS="typescript express webpack eslint @babel/core @babel/parser rxjs lodash-es react react-dom vue prettier
axios commander yargs chalk zod date-fns moment immer redux mobx koa fastify jest mocha chai uuid semver
minimatch glob ajv ws socket.io vite rollup esbuild postcss tslib acorn"
if [ "${GLIMPSE_SMOKE:-0}" = "1" ]; then PKGS="express commander semver chalk uuid ajv"; fi
# shellcheck disable=SC2086
npm install --no-save --ignore-scripts --no-audit --no-fund $PKGS
