"""The metric line protocol (DESIGN §4): examples, progress-bar prefixes, fuzzing."""
import io
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from momo_jobs import log_metric
from momo_jobs.job.protocol import MetricPoint, format_metric_line, parse_metric_line


def printed(code: str) -> str:
    """What a ``print(...)`` statement of a user's script writes, without its newline."""
    out = io.StringIO()
    exec(code, {"print": lambda *a: out.write(" ".join(map(str, a)))})
    return out.getvalue()


@pytest.mark.parametrize("line, expected", [
    ('{"metric": "accuracy", "value": 0.985}', MetricPoint("accuracy", 0.985, None, None)),
    ('{"metric": "loss", "value": 2.2233, "step": 120}', MetricPoint("loss", 2.2233, 120, None)),
    ('{"metric": "val_loss", "value": 0.04, "epoch": 3}', MetricPoint("val_loss", 0.04, None, 3)),
    ('{"metric": "lr", "value": "warmup", "step": 1, "epoch": 1}', MetricPoint("lr", "warmup", 1, 1)),
    ('{"value": 1, "metric": "order"}\r\n', MetricPoint("order", 1, None, None)),
])
def test_design_examples(line, expected):
    assert parse_metric_line(line) == expected


def test_the_exact_print_statements_of_the_issue():
    assert parse_metric_line(printed("""print('{"metric": "accuracy", "value": 0.985}')""")) == \
        MetricPoint("accuracy", 0.985, None, None)
    loss = 0.123456
    line = printed(f"""loss = {loss!r}\nprint('{{{{"metric": "loss", "value": {{}}}}}}'.format(loss))""")
    assert parse_metric_line(line) == MetricPoint("loss", loss, None, None)


@pytest.mark.parametrize("prefix", [
    "\r 7/469 [>.............................] - ETA: 27s - loss: 0.7379",
    "469/469 ━━━━━━━━━━━━━━━━━━━━ 3s 3ms/step - loss: 0.7379",
    "\x1b[1m469/469\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m3s\x1b[0m 3ms/step - loss: 0.7379",
    "\b\b\b\b\b\b\b\b 50%|█████     | 5/10 [00:01<00:01, 4.99it/s]",
    "text with {braces} and {\"json\": 1} before ",
])
def test_metric_after_progress_bar_text(prefix):
    line = prefix + '{"metric": "loss", "value": 0.72, "step": 7}'
    assert parse_metric_line(line) == MetricPoint("loss", 0.72, 7, None)


def test_nan_and_infinity_as_python_writes_them():
    point = parse_metric_line(json.dumps({"metric": "loss", "value": float("nan")}))
    assert point.metric == "loss" and math.isnan(point.value)
    assert parse_metric_line('{"metric": "x", "value": Infinity}').value == math.inf


def test_nested_value_is_kept():
    assert parse_metric_line('{"metric": "cm", "value": {"tp": 3, "fp": {"a": 1}}}').value == {"tp": 3, "fp": {"a": 1}}


@pytest.mark.parametrize("line", [
    '{"metric": "loss", "value": 0.5} trailing text',
    '{"metric": "loss"}',
    '{"value": 0.5}',
    '{"metric": "", "value": 1}',
    '{"metric": 3, "value": 1}',
    '{"metric": "loss", "value": 1, "step": true}',
    '{"metric": "loss", "value": 1, "step": 1.5}',
    '{"metric": "loss", "value": 1, "epoch": "2"}',
    '["metric", "value"]',
    '{"metric": "loss", "value": }',
    "plain log line",
    "",
    "}",
])
def test_plain_log(line):
    assert parse_metric_line(line) is None


def test_log_metric_round_trips():
    out = io.StringIO()
    log_metric("accuracy", 0.5, step=3, file=out)
    log_metric("loss", 1, epoch=2, file=out)
    lines = out.getvalue().splitlines()
    assert [parse_metric_line(x) for x in lines] == [MetricPoint("accuracy", 0.5, 3, None), MetricPoint("loss", 1, None, 2)]


def test_format_refuses_a_bool_step():
    with pytest.raises(TypeError):
        format_metric_line("x", 1, step=True)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_fuzz_arbitrary_text_never_raises(text):
    result = parse_metric_line(text)
    assert result is None or isinstance(result, MetricPoint)


@settings(max_examples=300, deadline=None)
@given(prefix=st.text().filter(lambda s: "\n" not in s), name=st.text(min_size=1), value=json_values,
       step=st.none() | st.integers())
def test_fuzz_any_metric_after_any_prefix_is_found(prefix, name, value, step):
    line = prefix + format_metric_line(name, value, step=step)
    point = parse_metric_line(line)
    assert point is not None
    assert point.metric == name and point.step == step


@settings(max_examples=300, deadline=None)
@given(st.binary())
def test_fuzz_bytes_decoded_never_raise(data):
    parse_metric_line(data.decode("utf-8", "replace"))
