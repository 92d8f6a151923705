"""Runs a job on a cluster node and brings what it wrote to ``results/`` back.

``python carryback.py JOB_ID TARGET -- COMMAND...`` runs COMMAND in the current folder
(the copy of the script's folder that travelled to the node) with ``MOMO_RESULTS_DIR``
its ``results/``; when COMMAND ends, however it ends (a failure, a stop: a partial
checkpoint matters), each file it wrote there is copied into TARGET, the notebook's
``results/``, unless the file there is newer (the user's own). A note
(``.momo-results-JOB_ID.json``) in TARGET tells the server what came back; where
TARGET can't be reached from the node, the log says so and the server tells the user.

The Ray backend ships this file beside the job's script: it needs only the standard
library and no momo-jobs on the node.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time


def note_name(job_id: str) -> str:
    return f".momo-results-{job_id}.json"


def copy_back(results: str, target: str) -> tuple[list[str], list[str]]:
    """Copies each file under ``results`` into ``target``; (copied, kept: the user's newer file)."""
    copied, kept = [], []
    for folder, _, files in os.walk(results):
        for name in files:
            src = os.path.join(folder, name)
            rel = os.path.relpath(src, results)
            dst = os.path.join(target, rel)
            try:
                if os.path.getmtime(dst) > os.path.getmtime(src):
                    kept.append(rel)
                    continue
            except OSError:
                pass  # not there yet
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            tmp = f"{dst}.momo-{os.getpid()}.tmp"
            shutil.copy2(src, tmp)
            os.replace(tmp, dst)
            copied.append(rel)
    return copied, kept


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print("usage: carryback.py JOB_ID TARGET -- COMMAND...", file=sys.stderr)
        return 2
    job_id, target, command = argv[0], argv[1], argv[3:]
    results = os.path.join(os.getcwd(), "results")
    os.makedirs(results, exist_ok=True)
    env = dict(os.environ, MOMO_RESULTS_DIR=results)
    stopping = []
    # A stop reaches the job's whole process group; this one waits for the job, then copies.
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))
    child = subprocess.Popen(command, env=env)
    code = child.wait()
    sys.stdout.flush()
    try:
        if not os.path.isdir(os.path.dirname(os.path.abspath(target))):
            raise OSError(f"the notebook's folder {os.path.dirname(target)} is not reachable from this node")
        os.makedirs(target, exist_ok=True)
        copied, kept = copy_back(results, target)
        with open(os.path.join(target, note_name(job_id)), "w", encoding="utf-8") as f:
            json.dump({"copied": copied, "kept": kept, "at": time.time()}, f)
        if kept:
            print(f"momo-jobs: kept your newer {', '.join(kept)} in results/", file=sys.stderr, flush=True)
    except OSError as exc:
        print(f"momo-jobs: the job's results/ could not come back: {exc}", file=sys.stderr, flush=True)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
