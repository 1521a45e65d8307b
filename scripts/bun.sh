#!/bin/sh
# Runs the pinned Bun on a machine that may only have Node and npm: uses `bun` when it is the pinned
# version, otherwise installs that version under .tools/ from npm once. Dependencies are installed
# from the frozen lockfile when node_modules is missing or older than the lockfile.
set -e
cd "$(dirname "$0")/.."
want=$(node -p 'require("./package.json").engines.bun')
if command -v bun >/dev/null 2>&1 && [ "$(bun --version)" = "$want" ]; then
  BUN=bun
else
  BUN="$PWD/.tools/node_modules/.bin/bun"
  if [ ! -x "$BUN" ] || [ "$("$BUN" --version)" != "$want" ]; then
    echo "installing bun $want from npm into .tools/" >&2
    npm install --prefix .tools --no-save --no-audit --no-fund --loglevel=error "bun@$want" >&2
  fi
fi
if [ ! -d node_modules ] || [ bun.lock -nt node_modules ]; then
  "$BUN" install --frozen-lockfile >&2
  touch node_modules
fi
exec "$BUN" "$@"
