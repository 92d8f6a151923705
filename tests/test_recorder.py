"""LogRecorder on its own: the log keeps the bytes as written, lines are split across
writes, metric lines (DESIGN §4) are recorded once with the clock's time, and memory
stays bounded whatever a job prints."""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from momo_jobs.job.protocol import MAX_METRIC_LINE, format_metric_line, format_param_line
from momo_jobs.job.recorder import LogRecorder
from momo_jobs.vocabulary import JobFiles


class Clock:
    """A clock the test moves by hand: each reading is the current ``now``."""

    def __init__(self, start=1000.0):
        self.now = start
        self.readings = 0

    def __call__(self):
        self.readings += 1
        return self.now


def metrics(folder):
    path = folder / JobFiles.METRICS
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def index(folder):
    return [(float(t), int(size)) for t, size in
            (line.split(" ") for line in (folder / JobFiles.LOG_INDEX).read_text().splitlines())]


def log_bytes(folder):
    return (folder / JobFiles.LOG).read_bytes()


def record(folder, *chunks, clock=None, resume=False, close=True):
    recorder = LogRecorder(folder, clock=clock or Clock(), resume=resume)
    for chunk in chunks:
        recorder.write(chunk)
    if close:
        recorder.close()
    return recorder


def record_at(folder, *timed_chunks):
    """Writes each (clock time, bytes) with the clock at that time, then closes."""
    clock = Clock()
    recorder = LogRecorder(folder, clock=clock)
    for now, chunk in timed_chunks:
        clock.now = now
        recorder.write(chunk)
    recorder.close()
    return recorder


def test_creates_the_three_files_named_in_job_files(tmp_path):
    record(tmp_path)
    for name in (JobFiles.LOG, JobFiles.LOG_INDEX, JobFiles.METRICS):
        assert (tmp_path / name).read_bytes() == b""


def test_bytes_are_kept_exactly_as_written(tmp_path):
    chunks = [b"plain\n", b"\xff\xfe not utf-8 \xc3(\n", b"epoch 1 [=>   ]\r", b"epoch 1 [==>  ]\r",
              b"epoch 1 [===>]\r\n", b"caf\xc3", b"\xa9 split char\n", b"\x00nul\tand tab", b"", b"\r\n"]
    recorder = record(tmp_path, *chunks)
    assert log_bytes(tmp_path) == b"".join(chunks)
    assert recorder.size == len(b"".join(chunks))
    assert metrics(tmp_path) == []


def test_index_has_a_time_and_the_log_size_after_each_write(tmp_path):
    record_at(tmp_path, (1700000000.25, b"abc"), (1700000001.5, b"defgh\n"),
              (1700000001.75, b""),  # nothing written: no index line
              (1700000002.125, b"\xff"))
    assert index(tmp_path) == [(1700000000.25, 3), (1700000001.5, 9), (1700000002.125, 10)]
    lines = (tmp_path / JobFiles.LOG_INDEX).read_text().splitlines()
    assert all(len(line.split(" ")) == 2 for line in lines)


def test_metric_is_stamped_with_the_clock_time_of_its_read(tmp_path):
    record_at(tmp_path, (50.0, b'{"metric": "loss", "value": 0.5, "step": 1}\n'),
              (61.75, b'{"metric": "loss", "value": 0.25, "step": 2, "t": 3}\n'))
    assert metrics(tmp_path) == [
        {"step": 1, "epoch": None, "metric": "loss", "value": 0.5, "t": 50.0},
        # The object's own "t" loses to the time the line was read.
        {"step": 2, "epoch": None, "metric": "loss", "value": 0.25, "t": 61.75},
    ]


def test_step_epoch_and_values_of_every_kind(tmp_path):
    record(tmp_path,
           b'{"metric": "acc", "value": 0.9, "epoch": 3}\n'
           b'{"metric": "n", "value": 7}\n'
           b'{"metric": "lr", "value": NaN, "step": 2}\n'
           b'{"metric": "m", "value": -Infinity}\n'
           b'{"metric": "cfg", "value": {"a": [1, 2]}}\n'
           b'  {"metric": "spaced", "value": 1}  \r\n')
    points = metrics(tmp_path)
    assert [(p["metric"], p["step"], p["epoch"]) for p in points] == [
        ("acc", None, 3), ("n", None, None), ("lr", 2, None), ("m", None, None), ("cfg", None, None),
        ("spaced", None, None)]
    assert points[0]["value"] == 0.9 and points[1]["value"] == 7
    assert math.isnan(points[2]["value"]) and points[3]["value"] == -math.inf
    assert points[4]["value"] == {"a": [1, 2]}


def test_a_metric_line_split_across_writes_is_parsed_once_whole(tmp_path):
    line = b'{"metric": "loss", "value": 0.125, "step": 9}\n'
    chunks = [line[i:i + 1] for i in range(len(line))]  # one byte a write
    clock = Clock(5.0)
    recorder = LogRecorder(tmp_path, clock=clock)
    for i, chunk in enumerate(chunks):
        clock.now = 5.0 + i
        recorder.write(chunk)
    recorder.close()
    assert metrics(tmp_path) == [{"step": 9, "epoch": None, "metric": "loss", "value": 0.125,
                                  "t": 5.0 + len(chunks) - 1}]  # the time its end was read
    assert log_bytes(tmp_path) == line


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 120), max_size=8))
def test_any_split_of_a_log_gives_the_same_metrics(tmp_path_factory, cuts):
    text = (b"start\n"
            b'Epoch 1/2\r 1/3 [=>...] - 3ms/step - loss: 0.9{"metric": "loss", "value": 0.9, "step": 1}\n'
            b"\xff\xfe junk {\"metric\": \"no\", \"value\": 1} tail\n"
            b'{"metric": "acc", "value": 0.5, "epoch": 1}\n')
    folder = tmp_path_factory.mktemp("split")
    bounds = sorted({0, len(text), *[c % len(text) for c in cuts]})
    record(folder, *[text[a:b] for a, b in zip(bounds, bounds[1:])])
    assert log_bytes(folder) == text
    assert [(p["metric"], p["value"], p["step"], p["epoch"]) for p in metrics(folder)] == [
        ("loss", 0.9, 1, None), ("acc", 0.5, None, 1)]


def test_a_metric_right_after_a_progress_bar_counts_and_the_bar_stays_in_the_log(tmp_path):
    # The real Keras 3 line of DESIGN §4, its bar written without a newline first.
    bar = b"\r 7/10 \xe2\x94\x81\xe2\x94\x81\xe2\x94\x81 0s 3ms/step - loss: 0.7379"
    chunks = [b"\r 1/10 \xe2\x94\x81 1s 3ms/step - loss: 0.9", bar,
              b'{"metric": "loss", "value": 0.72, "step": 7}\n']
    record(tmp_path, *chunks)
    assert metrics(tmp_path) == [{"step": 7, "epoch": None, "metric": "loss", "value": 0.72, "t": 1000.0}]
    assert log_bytes(tmp_path) == b"".join(chunks)


@pytest.mark.parametrize("line", [
    b'{"metric": "loss", "value": 0.5} and then some text\n',
    b'{"metric": "loss", "value": 0.5}{"oops"\n',
    b'{"metric": "loss"}\n',  # no value
    b'{"value": 1}\n',  # no metric
    b'{"metric": "", "value": 1}\n',
    b'{"metric": "loss", "value": 1, "step": true}\n',
    b'{"metric": "loss", "value": 1, "step": 1.5}\n',
    b'{"metric": "loss", "value": \n',
    b'["metric", "loss"]\n',
])
def test_text_after_the_object_or_a_malformed_object_is_plain_log(tmp_path, line):
    record(tmp_path, line)
    assert metrics(tmp_path) == []
    assert log_bytes(tmp_path) == line


def test_invalid_utf8_before_a_metric_does_not_lose_it(tmp_path):
    record(tmp_path, b'\xff\xc3 bar {"metric": "x", "value": 1}\n')
    assert [p["metric"] for p in metrics(tmp_path)] == ["x"]


def test_close_records_a_final_metric_line_without_newline(tmp_path):
    clock = Clock(7.0)
    recorder = LogRecorder(tmp_path, clock=clock)
    recorder.write(b'first\n{"metric": "final", "value": 3')
    recorder.write(b"}")
    assert metrics(tmp_path) == []  # the line may still go on
    clock.now = 8.5
    recorder.close()
    assert metrics(tmp_path) == [{"step": None, "epoch": None, "metric": "final", "value": 3, "t": 8.5}]


def test_close_does_not_record_a_line_already_recorded(tmp_path):
    record(tmp_path, b'{"metric": "a", "value": 1}\n', b"some text without newline")
    assert [p["metric"] for p in metrics(tmp_path)] == ["a"]


def test_resume_takes_up_a_line_cut_in_two_across_a_reopen(tmp_path):
    record(tmp_path, b'before\n{"metric": "loss", "val', close=False)  # the server died here
    clock = Clock(99.0)
    recorder = LogRecorder(tmp_path, clock=clock, resume=True)
    assert recorder.size == len(b'before\n{"metric": "loss", "val')
    recorder.write(b'ue": 0.5, "step": 4}\nafter\n')
    recorder.close()
    assert metrics(tmp_path) == [{"step": 4, "epoch": None, "metric": "loss", "value": 0.5, "t": 99.0}]
    assert log_bytes(tmp_path) == b'before\n{"metric": "loss", "value": 0.5, "step": 4}\nafter\n'
    # The index goes on from the size the log had.
    assert [size for _, size in index(tmp_path)] == [30, 57]


def test_resume_after_a_complete_line_records_nothing_twice(tmp_path):
    record(tmp_path, b'{"metric": "a", "value": 1}\n', close=False)
    record(tmp_path, b'{"metric": "b", "value": 2}\n', resume=True)
    assert [p["metric"] for p in metrics(tmp_path)] == ["a", "b"]


def test_without_resume_a_reopen_starts_a_new_line(tmp_path):
    record(tmp_path, b'{"metric": "loss", "val', close=False)
    record(tmp_path, b'ue": 0.5}\n')
    assert metrics(tmp_path) == []


def test_close_then_resume_records_a_metric_line_once(tmp_path):
    # Put down at the server's shutdown, the job going on: the newline is not read yet.
    record(tmp_path, b'{"metric": "a", "value": 1}', close=False).close(end_of_output=False)
    record(tmp_path, b"\nmore\n", resume=True)
    assert [p["metric"] for p in metrics(tmp_path)] == ["a"]


def test_an_endless_line_keeps_memory_bounded(tmp_path):
    recorder = LogRecorder(tmp_path, clock=Clock())
    chunk = b"\r[" + b"=" * 4093 + b"]"  # 4 KiB of progress bar, never a newline
    total = 0
    for _ in range(64):  # 256 KiB, four times the longest metric line
        recorder.write(chunk)
        total += len(chunk)
        assert len(recorder._partial) <= MAX_METRIC_LINE
    big = b"x" * (3 * MAX_METRIC_LINE)  # one write far over the bound
    recorder.write(big)
    total += len(big)
    assert len(recorder._partial) <= MAX_METRIC_LINE
    # When the line finally ends, lines after it are read as before.
    recorder.write(b'\n{"metric": "after", "value": 1}\n')
    recorder.close()
    assert [p["metric"] for p in metrics(tmp_path)] == ["after"]
    assert (tmp_path / JobFiles.LOG).stat().st_size == total + len(b'\n{"metric": "after", "value": 1}\n')


def test_a_long_bar_within_the_bound_still_ends_in_a_metric(tmp_path):
    recorder = LogRecorder(tmp_path, clock=Clock())
    metric = b'{"metric": "loss", "value": 0.1, "step": 500}'
    bar = b"\r 10/500 [=>.........] - loss: 0.3"
    for _ in range((MAX_METRIC_LINE - len(metric)) // len(bar) - 1):
        recorder.write(bar)
    recorder.write(metric + b"\n")
    recorder.close()
    assert [(p["metric"], p["step"]) for p in metrics(tmp_path)] == [("loss", 500)]


def test_resume_on_a_log_ending_in_an_endless_line_stays_bounded(tmp_path):
    (tmp_path / JobFiles.LOG).write_bytes(b"start\n" + b"y" * (2 * MAX_METRIC_LINE))
    recorder = LogRecorder(tmp_path, clock=Clock(), resume=True)
    assert len(recorder._partial) <= MAX_METRIC_LINE
    recorder.write(b"\n" + b'{"metric": "ok", "value": 2}\n')
    recorder.close()
    assert [p["metric"] for p in metrics(tmp_path)] == ["ok"]


metric_lines = st.one_of(
    st.builds(lambda name, value, step, epoch: format_metric_line(name, value, step, epoch).encode(),
              st.text(min_size=1, max_size=8), st.one_of(st.floats(), st.integers(), st.text(max_size=4)),
              st.one_of(st.none(), st.integers(-10**20, 10**20)), st.one_of(st.none(), st.integers(0, 99))),
    st.builds(lambda name, value: format_param_line(name, value).encode(), st.text(min_size=1, max_size=8),
              st.one_of(st.floats(allow_nan=False), st.text(max_size=4))),
    st.sampled_from([b'bar 3/9{"metric": "loss", "value": 1.5, "step": 3}', b'{"metric": "x", "value": 1}\r',
                     b'{"metric": "x", "value": 1.}', b'{"metric": "x", "value": 01}', b'{"metric": "", "value": 1}',
                     b'{"metric": "x", "value": 1, "step": 1.5}', b'{"metric": "a\\"b", "value": -0.0, "epoch": 2}',
                     b'{"metric": "x", "value": 1} tail', b'plain text }', b'{"metric": "\xff", "value": 2}']),
    st.binary(max_size=20),
)


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(metric_lines, max_size=30), cuts=st.lists(st.integers(0, 2000), max_size=6))
def test_every_metric_line_is_recorded_as_the_parser_reads_it(tmp_path_factory, lines, cuts):
    """The recorder's shortcut for plain metric lines records exactly what parsing each line gives."""
    from momo_jobs.job.protocol import ParamPoint, find_record

    folder = tmp_path_factory.mktemp("rec")
    data = b"".join(line.replace(b"\n", b" ") + b"\n" for line in lines)
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    record(folder, *(data[a:b] for a, b in zip(bounds, bounds[1:])), clock=Clock(7.0))
    expected = []
    for line in data.split(b"\n")[:-1]:
        found = find_record(line.decode("utf-8", "replace"))
        if found is None:
            continue
        point = found[0]
        if isinstance(point, ParamPoint):
            expected.append({"param": point.param, "value": point.value})
        else:
            expected.append({"metric": point.metric, "value": point.value, "step": point.step, "epoch": point.epoch})
    got = [{k: p[k] for k in (("metric", "value", "step", "epoch") if "metric" in p else ("param", "value"))}
           for p in metrics(folder)]
    # NaN is not equal to itself: compared by their JSON spelling.
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
