#!/usr/bin/env bash
# Installs well-known npm packages (sources only, no install scripts) into tools/train/work/npm,
# the offline code corpus. Licenses are read from each package.json and recorded by the corpus stage.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p work/npm
cd work/npm
[ -f package.json ] || echo '{"name":"glimpse-corpus","private":true}' > package.json
PKGS="typescript express webpack eslint @babel/core @babel/parser rxjs lodash-es react react-dom vue prettier
axios commander yargs chalk zod date-fns moment immer redux mobx koa fastify jest mocha chai uuid semver
minimatch glob ajv ws socket.io vite rollup esbuild postcss tslib acorn"
if [ "${GLIMPSE_SMOKE:-0}" = "1" ]; then PKGS="express commander semver chalk uuid ajv"; fi
# shellcheck disable=SC2086
npm install --no-save --ignore-scripts --no-audit --no-fund $PKGS
