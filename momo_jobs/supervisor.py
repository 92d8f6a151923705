"""``python -m momo_jobs.supervisor JOB_DIR``: the supervisor beside a job (job/supervisor.py)."""
import sys

from .job.supervisor import main

if __name__ == "__main__":
    sys.exit(main())
