"""A Ray job's log copied into its job folder, with Ray's own lines cut out.

Ray writes a job's output to a file on the node that runs it; a ``LogCopy`` per
job copies it into ``output.log`` through ``LogRecorder`` as it arrives and writes
``exit.json`` once Ray reports the job over. After a server restart the copy
resumes where the job's ``output.log`` ends.

Ray's log API has no byte offsets: it returns the whole log, or a websocket that
streams it from the start. A small log is polled whole (quick to show a new
line); past ``POLL_LIMIT`` the websocket takes over. Either way the first
``output.log``-size bytes are skipped, which is what makes a resumed copy exact.
Ray reads the log as text with universal newlines, so a lone ``\\r`` (progress
bars) arrives as ``\\n``.
"""
from __future__ import annotations

import asyncio
import logging
import re
import signal
import time

from ....job.files import ExitRecord, RunSpec, iso_from_unix
from ....job.protocol import MAX_METRIC_LINE
from ....job.recorder import LogRecorder
from .http import RETRY_MAX, TERMINAL, RayDashboard, gist
from .room import Share
from .workdir import results_note

# A log polled whole while it is shorter than this (characters); streamed after.
POLL_LIMIT = 256 << 10
POLL_MIN = 0.1  # seconds between polls while output flows
POLL_MAX = 0.5  # ... and at most, when it doesn't
POLL_FIRST = 0.2  # ... and at most until the job's first output (that wait is what users notice)
POLL_FIRST_FOR = 120.0  # seconds after which a silent job is polled at POLL_MAX
STATUS_EVERY = 1.0
MISSING_GRACE = 30.0  # how long Ray may not know a job before it counts as gone
# Failed reads of an ended job's log before its exit is recorded without the rest
# (Ray's log API fails for good on a log that is not UTF-8).
GIVE_UP_AFTER = 8
# Ray's driver log starts with its own setup lines, and Ray adds this line once the job
# runs (see LogCursor).
ENTRYPOINT_MARKER = "Running entrypoint for job {job_id}: {entrypoint}\n"
RAY_SETUP_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\s+[A-Z]+ "
                            r"(job_manager|job_supervisor|runtime_env\w*|packaging|working_dir|setup_hook\w*)\.py:\d+ -- ")
# The marker is looked for in this many characters of the job's output; past them it is the job's.
MARKER_SEARCH_LIMIT = 1 << 20


def submission_id(run: RunSpec) -> str:
    """Ray's id of the job's attempt: the job id, and for a retried attempt the id and
    its number (Ray keeps every submission id it was given)."""
    return run.job_id if run.attempt <= 1 else f"{run.job_id}-attempt{run.attempt}"


class JobMissing(Exception):
    """Ray does not know the job (any more, or, briefly after a busy submit, yet)."""


class LogCursor:
    """Turns Ray's driver log, read from its start, into what output.log lacks.

    Ray's lines come out: the setup lines it writes before the job starts, and
    the line naming the entrypoint, which Ray flushes only after starting the
    job, so that it can land anywhere in the job's first output, even inside a
    line. Each decision depends on the log's text alone, so every read of the
    log from its start cuts it alike. Then the first ``recorded`` bytes, already
    in output.log, are skipped.
    """

    def __init__(self, marker: str, recorded: int):
        self.marker = marker
        self.skip = recorded
        self.phase = "setup"  # then "search" (for the marker), then "pass"
        self.held = ""  # text not yet decided on
        self.searched = 0  # characters of the job's output passed while searching

    def feed(self, text: str, final: bool = False) -> bytes:
        out = self._cut(text, final)
        data = out.encode("utf-8", "replace")
        if self.skip:
            n = min(self.skip, len(data))
            data = data[n:]
            self.skip -= n
        return data

    def _cut(self, text: str, final: bool) -> str:
        if self.phase == "pass":
            return text
        text, self.held = self.held + text, ""
        if self.phase == "setup":
            while True:
                nl = text.find("\n")
                if nl < 0:
                    if final or len(text) > MAX_METRIC_LINE:
                        break
                    self.held = text
                    return ""
                line = text[:nl + 1]
                if line == self.marker:
                    self.phase = "pass"
                    return text[nl + 1:]
                if not RAY_SETUP_LINE.match(line):
                    break
                text = text[nl + 1:]
            self.phase = "search"
        i = text.find(self.marker)
        if 0 <= i and self.searched + i < MARKER_SEARCH_LIMIT:
            self.phase = "pass"
            return text[:i] + text[i + len(self.marker):]
        if final or self.searched + len(text) >= MARKER_SEARCH_LIMIT + len(self.marker):
            self.phase = "pass"  # no marker where Ray puts it: the text is all the job's
            return text
        keep = next((k for k in range(min(len(text), len(self.marker) - 1), 0, -1)
                     if self.marker.startswith(text[-k:])), 0)
        self.held = text[len(text) - keep:]
        out = text[:len(text) - keep]
        self.searched += len(out)
        return out


def exit_record(info: dict) -> ExitRecord:
    """The exit record of a job from Ray's final record of it."""
    status = info.get("status")
    end = info.get("end_time")
    finished = iso_from_unix(end / 1000) if end else None
    extra = {"finished_at": finished} if finished else {}
    if status == "SUCCEEDED":
        return ExitRecord(exit_code=0, **extra)
    if status == "STOPPED":
        return ExitRecord(exit_code=None, stopped=True, **extra)
    code = info.get("driver_exit_code")
    signal_name = None
    if isinstance(code, int) and code < 0:
        try:
            signal_name = signal.Signals(-code).name
        except ValueError:
            signal_name = f"signal {-code}"
    # Ray's message ends with the log's last lines, which output.log already has.
    message = (info.get("message") or "").split(", last available logs", 1)[0].strip()
    return ExitRecord(exit_code=code, signal=signal_name, reason=message or f"Ray reports the job {status}", **extra)


class LogCopy:
    """Copies one job's log from Ray into output.log until Ray reports the end, then
    writes exit.json; retries while Ray can't be reached. It notes on the job's
    ``share`` when Ray started and ended the job, for the room's count."""

    def __init__(self, dashboard: RayDashboard, run: RunSpec, entrypoint: str, share: Share,
                 log: logging.Logger):
        self.dashboard = dashboard
        self.run = run
        self.entrypoint = entrypoint
        self.share = share
        self.log = log
        self.missing_since: float | None = None
        self.failures = 0  # reads of Ray that failed in a row
        self.last_info: dict | None = None
        self.ray_id = submission_id(run)

    async def follow(self) -> None:
        run = self.run
        recorder = LogRecorder(run.folder, resume=True)
        lost = None
        info = None
        streaming = recorder.size >= POLL_LIMIT
        try:
            while True:
                try:
                    if not streaming:
                        info = await self._poll(recorder)
                        streaming = info is None
                    else:
                        info = await self._stream(recorder)
                        if info is None:
                            await asyncio.sleep(1.0)  # the stream closed early: open a new one
                    if info is not None:
                        break
                except asyncio.CancelledError:
                    raise
                except JobMissing:
                    self.missing_since = self.missing_since or time.monotonic()
                    if time.monotonic() - self.missing_since > MISSING_GRACE:
                        info = {}
                        break
                    await asyncio.sleep(1.0)
                except Exception as exc:
                    self.failures += 1
                    if self.failures == 1 or self.failures % 30 == 0:
                        self.log.warning("momo-jobs: following Ray job %s: %s", run.job_id, exc)
                    if self.failures >= GIVE_UP_AFTER and (self.last_info or {}).get("status") in TERMINAL:
                        info, lost = self.last_info, gist(str(exc)) or type(exc).__name__
                        break
                    await asyncio.sleep(min(RETRY_MAX, 0.5 * 2 ** min(self.failures, 5)))
        finally:
            recorder.close(end_of_output=info is not None)
        if info.get("status") is None:
            record = ExitRecord(exit_code=None, reason="the Ray cluster no longer knows this job "
                                                       "(was it restarted?)")
        else:
            record = exit_record(info)
            self.share.end_ms = info.get("end_time") or int(time.time() * 1000)
            record.add_reason(results_note(run))
        if lost:
            record.add_reason(f"the end of its log could not be read from Ray ({lost})")
        # Free for the room before exit.json says the job is over.
        self.share.ended_at = time.monotonic()
        record.save(run.folder)

    def _cursor(self, recorder: LogRecorder) -> LogCursor:
        marker = ENTRYPOINT_MARKER.format(job_id=self.ray_id, entrypoint=self.entrypoint)
        # output.log holds earlier attempts' lines before this attempt's: Ray's log is this attempt's alone.
        return LogCursor(marker, max(0, recorder.size - self.run.log_start))

    def _note(self, info: dict) -> None:
        self.last_info = info
        self.missing_since = None
        self.share.start_ms = info.get("start_time") or self.share.start_ms
        if info.get("entrypoint"):
            self.entrypoint = info["entrypoint"]

    async def _poll(self, recorder: LogRecorder) -> dict | None:
        """Polls the whole log while it is small. Returns Ray's final record of the
        job once everything is copied, None to go on by streaming."""
        job_id = self.ray_id
        interval = POLL_MIN
        checked = 0.0
        began = time.monotonic()
        while True:
            info = None
            if time.monotonic() - checked >= max(STATUS_EVERY, interval):
                # The status is read before the log: a job seen over has its whole log.
                info = await self.dashboard.job_info(job_id)
                checked = time.monotonic()
                if info is None:
                    raise JobMissing(job_id)
                self._note(info)
            text = await self.dashboard.job_logs(job_id)
            self.failures = 0
            over = info is not None and info.get("status") in TERMINAL
            data = self._cursor(recorder).feed(text, final=over)
            recorder.write(data)
            if over:
                return info
            if len(text) >= POLL_LIMIT:
                return None
            if data:
                interval = POLL_MIN
            else:
                quiet = recorder.size == 0 and time.monotonic() - began < POLL_FIRST_FOR
                interval = min(POLL_FIRST if quiet else POLL_MAX, interval * 1.5)
            await asyncio.sleep(interval)

    async def _stream(self, recorder: LogRecorder) -> dict | None:
        """Follows the log through Ray's websocket. Returns Ray's final record of the
        job once everything is copied, None to try again."""
        job_id = self.ray_id
        cursor = self._cursor(recorder)
        stream = await self.dashboard.log_stream(job_id)

        async def tail() -> None:
            async for text in stream:
                recorder.write(cursor.feed(text))
                self.failures = 0

        streaming = asyncio.create_task(tail())
        try:
            over_since = None
            while True:
                done, _ = await asyncio.wait({streaming}, timeout=5.0)
                try:
                    info = await self.dashboard.job_info(job_id)
                except Exception:
                    if done:
                        raise
                    continue  # the stream goes on meanwhile
                if info is None:
                    raise JobMissing(job_id)
                self._note(info)
                over = info.get("status") in TERMINAL
                if done:
                    streaming.result()  # raises if the stream broke
                    if not over:
                        return None
                    recorder.write(cursor.feed("", final=True))
                    return info
                if over:
                    # Ray ends the stream about a second after the job; a stuck one is started over.
                    over_since = over_since or time.monotonic()
                    if time.monotonic() - over_since > 15:
                        return None
        finally:
            streaming.cancel()
            await asyncio.gather(streaming, return_exceptions=True)
