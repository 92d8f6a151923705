"""``momo-jobs``: the command line over the REST API (client.py)."""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

from ..vocabulary import Status
from .client import ClientError, JobsClient
from .display import best_text, default_metric, run_rows, shared_params
from .i18n import _
from .options import add_submit_options, add_sweep_options, split_script_args, submit_kwargs, sweep_kwargs

LIST_COLUMNS = ("id", "name", "status", "resource", "gpu_ids", "created_at", "finished_at")
MAX_CELL = 48  # characters of a cell of the compare table (--csv gives them whole)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="momo-jobs", description=_("Run training scripts as background jobs."))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("submit", help=_("submit a script or notebook as a job (script arguments after --)"))
    p.add_argument("script")
    add_submit_options(p)
    p.add_argument("--follow", action="store_true", help=_("stream the log; exit with the job's exit code"))

    p = sub.add_parser("sweep", help=_("run a script once per combination of argument values (script arguments after --)"))
    p.add_argument("script")
    add_submit_options(p)
    add_sweep_options(p)

    p = sub.add_parser("list", help=_("list jobs, newest first"))
    p.add_argument("--status", help="e.g. queued,running")
    p.add_argument("--sweep", help=_("only the jobs of this sweep"))
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")

    for name, text in (("show", _("show a job")), ("delete", _("delete a finished job"))):
        sub.add_parser(name, help=text).add_argument("id")
    p = sub.add_parser("stop", help=_("stop a job (or with --sweep every job of a sweep)"))
    p.add_argument("id")
    p.add_argument("--sweep", action="store_true", help=_("ID is a sweep's"))
    p = sub.add_parser("rerun", help=_("run a job again from its snapshot (or with --sweep a whole sweep)"))
    p.add_argument("id")
    p.add_argument("--sweep", action="store_true", help=_("ID is a sweep's"))
    p.add_argument("--follow", action="store_true")

    p = sub.add_parser("logs", help=_("print a job's log"))
    p.add_argument("id")
    p.add_argument("--follow", "-f", action="store_true")

    p = sub.add_parser("metrics", help=_("print a job's metric points"))
    p.add_argument("id")
    p.add_argument("--x", choices=("time", "step", "epoch"), default="time")
    p.add_argument("--csv", action="store_true", help=_("every point as CSV"))
    p.add_argument("names", nargs="*")

    p = sub.add_parser("compare", help=_("compare runs: their parameters, a metric's best and last, CPU and memory"))
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("--metric", help=_("the metric to rank by (default: val_loss, loss, … whichever they share)"))
    p.add_argument("--csv", action="store_true", help=_("the table as CSV"))

    p = sub.add_parser("export", help=_("export a notebook to a .py beside it"))
    p.add_argument("notebook")
    p.add_argument("--overwrite", action="store_true")

    sub.add_parser("resources", help=_("GPUs, CPU slots and queues"))

    p = sub.add_parser("example", help=_("copy an example (mnist) into a folder and prepare its data"))
    p.add_argument("name", choices=("mnist",))
    p.add_argument("dir", type=Path)

    sub.add_parser("serve", help=_("start a headless Jupyter server with momo-jobs (server options after --)"))
    return parser


def _print_job(job: dict) -> None:
    for key, value in job.items():
        print(f"{key:>15}: {value if value is not None else ''}")


def _user_language() -> str | None:
    """The language gettext would pick: LANGUAGE, LC_ALL, LC_MESSAGES or LANG."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "").split(":")[0]
        if value:
            return None if value in ("C", "POSIX") or value.startswith("C.") else value
    return None


def _print_warnings(answer: dict) -> None:
    """What Python 3 can't compile in a submitted or exported script, on stderr."""
    for warning in answer.get("warnings") or ():
        print(_("warning: Python 3 cannot compile {where}").format(where=warning), file=sys.stderr)


def _print_sweep(sweep: dict) -> None:
    print(sweep["sweep_id"])
    for job in sweep["jobs"]:
        print(f"{job['id']}\t{job['status']}\t{job['name']}", file=sys.stderr)


def _follow(client: JobsClient, job: dict) -> int:
    print(f"job {job['id']} ({job['name']}) {job['status']}", file=sys.stderr)
    job = client.follow(job["id"], sys.stdout)
    print(f"job {job['id']} {job['status']}" + (f": {job['reason']}" if job.get("reason") else ""), file=sys.stderr)
    if job["status"] == Status.COMPLETED:
        return 0
    return job["exit_code"] if isinstance(job["exit_code"], int) and job["exit_code"] > 0 else 1


def _print_metrics(data: dict) -> None:
    for series in data["series"]:
        if not series["x"]:
            continue
        print(f"# {series['name']} ({series['count']} points, x = {data['x']})")
        for x, y in zip(series["x"], series["y"]):
            print(f"{x}\t{y}")
    for point in data.get("other", []):
        print(f"# {point['name']} at {point['time']:.3f} s: {json.dumps(point['value'])}")


def _cell(value) -> str:
    if value is None:
        return ""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def compared_runs(client: JobsClient, ids: list[str]) -> list[dict]:
    """The runs of ``ids``, in that order; an id the server doesn't know is an error."""
    runs = client.runs(ids=ids, limit=len(ids))["runs"]
    missing = [i for i in ids if i not in {r["id"] for r in runs}]
    if missing:
        raise ClientError(_("no job {ids}").format(ids=", ".join(missing)), 404)
    return runs


def _print_compare(runs: list[dict], metric: str | None, as_csv: bool) -> None:
    """The runs side by side; as text, only the parameters that differ (the rest on one line)."""
    rows = run_rows(runs, metric, differing_only=not as_csv)
    columns = list(rows[0]) if rows else []
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows([_cell(row[c]) for c in columns] for row in rows)
        return
    cells = [columns] + [[_cell(row[c])[:MAX_CELL] for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    for line in cells:
        print("  ".join(text.ljust(width) for text, width in zip(line, widths)).rstrip())
    same = shared_params(runs)
    if same:
        print(_("same in every run: {params}").format(params=", ".join(f"{k}={v}" for k, v in same.items())))
    print(best_text(runs, metric))


def run(argv: list[str]) -> int:
    own, rest = split_script_args(argv)
    args = _parser().parse_args(own)
    if args.command == "serve":
        from ..server.app import MomoJobsApp

        MomoJobsApp.launch_instance(argv=rest)
        return 0
    if args.command == "example":
        from ..examples import prepare_example

        notebook = prepare_example(args.name, args.dir.resolve(), language=_user_language())
        print(_("ready: open {notebook} in JupyterLab").format(notebook=notebook))
        return 0
    client = JobsClient.discover()
    if args.command == "submit":
        job = client.submit(args.script, args=rest, **submit_kwargs(args))
        _print_warnings(job)
        if args.follow:
            return _follow(client, job)
        print(job["id"])
        if job["status"] == Status.QUEUED and job.get("queue_position"):
            print(_("queued at position {position}").format(position=job["queue_position"]), file=sys.stderr)
    elif args.command == "sweep":
        _print_sweep(client.sweep(args.script, args=rest, **sweep_kwargs(args)))
    elif args.command == "list":
        page = client.list(args.status, args.limit, sweep=args.sweep)
        if args.json:
            print(json.dumps(page, indent=2))
        else:
            print("\t".join(c.upper() for c in LIST_COLUMNS))
            for job in page["jobs"]:
                print("\t".join(",".join(v) if isinstance(v, list) else str(v or "") for v in (job[c] for c in LIST_COLUMNS)))
    elif args.command == "show":
        _print_job(client.get(args.id))
    elif args.command == "stop" and args.sweep:
        _print_sweep(client.sweep_action(args.id, "stop"))
    elif args.command == "stop":
        print(client.stop(args.id)["status"])
    elif args.command == "rerun" and args.sweep:
        _print_sweep(client.sweep_action(args.id, "rerun"))
    elif args.command == "delete":
        client.delete(args.id)
    elif args.command == "rerun":
        job = client.rerun(args.id)
        if args.follow:
            return _follow(client, job)
        print(job["id"])
    elif args.command == "logs":
        if args.follow:
            return _follow(client, client.get(args.id))
        for text in client.log_texts(args.id):
            sys.stdout.write(text)
    elif args.command == "metrics":
        if args.csv:
            sys.stdout.write(client.metrics_csv(args.id))
        else:
            _print_metrics(client.metrics(args.id, args.x, args.names, max_points=100_000))
    elif args.command == "compare":
        runs = compared_runs(client, list(dict.fromkeys(args.ids)))
        _print_compare(runs, args.metric or default_metric(runs), args.csv)
    elif args.command == "export":
        result = client.export(args.notebook, args.overwrite)
        _print_warnings(result)
        print(result["path"])
    elif args.command == "resources":
        print(json.dumps(client.resources(), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except ClientError as exc:
        print(f"momo-jobs: {exc.message}", file=sys.stderr)
        return 2
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"momo-jobs: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
