#!/usr/bin/env bash
# Debian packages the tests need, installed when missing:
# - slurmctld, slurmd, slurm-client, munge: the Slurm backend's real single-node cluster
#   (tests/slurm_cluster.py starts its own daemons; the packages' services are not used);
# - python3-venv: the shared-GPU tests run servers as other Unix users on Debian's own
#   Python (the one running the tests may live where they can't enter);
# - gettext: msgfmt checks the zh_CN catalogue in tests/test_i18n.py.
# Chromium and fonts for the UI tests are scripts/ui-tests.sh's.
set -euo pipefail
missing=()
for tool in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge msgfmt:gettext; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
if [ -x /usr/bin/python3 ] && ! /usr/bin/python3 -c 'import ensurepip' 2>/dev/null; then
  missing+=(python3-venv)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
