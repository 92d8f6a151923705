#!/usr/bin/env bash
# Slurm and munge from Debian, for the tests' single-node Slurm cluster
# (tests/slurm_cluster.py starts its own daemons; the packages' services are not used).
set -euo pipefail
if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
    && command -v munged >/dev/null; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends \
  slurmctld slurmd slurm-client munge
