#!/usr/bin/env bash
# Installs what this repository needs on a fresh machine, then builds it.
#   bash scripts/setup.sh           pnpm, dependencies, build (enough for `pnpm demo`)
#   bash scripts/setup.sh --test    the same, plus PostgreSQL for the store-postgres tests
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "12.4.2" ]; then
  npm install -g pnpm@12.4.2
fi

# better-sqlite3 is a native addon. Without network access to its prebuilt binaries it is
# compiled by node-gyp, which needs Node's headers: use the system's when they are there
# (pnpm does not pass npm's own `nodedir` setting on to node-gyp).
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then
  export npm_config_nodedir=/usr
fi

if [ "${1:-}" = "--test" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  else
    echo "PostgreSQL is missing: install Debian's postgresql package (the store-postgres tests need initdb)" >&2
    exit 1
  fi
fi

pnpm install --frozen-lockfile
pnpm build
