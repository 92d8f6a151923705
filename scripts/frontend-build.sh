#!/usr/bin/env bash
# Build the momo-jobs JupyterLab extension: install the node dependencies
# with jlpm (JupyterLab's Yarn), then compile the TypeScript and build the
# prebuilt labextension into momo_jobs/labextension, in production mode.
# Idempotent: running it again only redoes what changed.
# Needs: the Python venv with jupyterlab (its `jlpm` and `jupyter` on PATH,
# or in ./.venv/bin), and Node.js.
set -euo pipefail

cd "$(dirname "$0")/.."
if [ -d .venv/bin ]; then
  export PATH="$PWD/.venv/bin:$PATH"
fi
command -v jlpm >/dev/null || { echo "jlpm not found: install jupyterlab (pip) first" >&2; exit 1; }

# Yarn uses the registry npm is configured with.
if [ -z "${YARN_NPM_REGISTRY_SERVER:-}" ] && command -v npm >/dev/null; then
  YARN_NPM_REGISTRY_SERVER="$(npm config get registry)"
  export YARN_NPM_REGISTRY_SERVER
fi
export YARN_ENABLE_TELEMETRY=0

jlpm install
jlpm build:prod
test -f momo_jobs/labextension/static/style.js
echo "frontend built: momo_jobs/labextension"
