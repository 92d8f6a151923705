#!/usr/bin/env bash
# Run the Galata UI tests headless in Debian's Chromium against a real
# JupyterLab with momo-jobs (started by Playwright from
# ui-tests/jupyter_server_test_config.py, with MOMO_JOBS_GPUS=0,1).
# Exits non-zero when a test fails. Extra arguments go to `playwright test`.
# Screenshots land in docs/screenshots/.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$PWD"
if [ -d .venv/bin ]; then
  export PATH="$ROOT/.venv/bin:$PATH"
fi
if [ -z "${YARN_NPM_REGISTRY_SERVER:-}" ] && command -v npm >/dev/null; then
  YARN_NPM_REGISTRY_SERVER="$(npm config get registry)"
  export YARN_NPM_REGISTRY_SERVER
fi
export YARN_ENABLE_TELEMETRY=0

# Chromium from Debian (Playwright cannot download its own browsers here).
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM_PATH" ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
fi
export CHROMIUM_PATH
# A font with Chinese glyphs, for the zh_CN test's screenshots (canvas and form
# controls draw nothing for a character no installed font has).
if command -v fc-list >/dev/null && [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y fonts-noto-cjk
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

# The extension must be built and known to JupyterLab.
if [ ! -f momo_jobs/labextension/static/style.js ]; then
  bash scripts/frontend-build.sh
fi
labextensions="$(jupyter labextension list 2>&1 || true)"
if ! grep -q "momo-jobs.*enabled" <<<"$labextensions"; then
  jupyter labextension develop --overwrite . >/dev/null
fi
serverextensions="$(jupyter server extension list 2>&1 || true)"
if ! grep -q "momo_jobs.*enabled" <<<"$serverextensions"; then
  echo "the momo_jobs server extension is not enabled (pip install -e . first)" >&2
  exit 1
fi

# A free port of its own, so that runs side by side do not share a server.
if [ -z "${MOMO_UI_PORT:-}" ]; then
  MOMO_UI_PORT="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
fi
export MOMO_UI_PORT

cd ui-tests
jlpm install
mkdir -p "$ROOT/docs/screenshots"
export CI="${CI:-1}"
start=$(date +%s)
status=0
jlpm playwright test "$@" || status=$?
echo "UI tests took $(( $(date +%s) - start )) s (exit $status)"
exit $status
