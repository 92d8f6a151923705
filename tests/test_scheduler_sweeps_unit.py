"""The sweeps' max_parallel in jobs_to_start, on its own: never more of a sweep at once
than its limit, and a sweep at its limit holds back nothing behind it."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from momo_jobs.server.scheduler import held_by_sweep, jobs_to_start, sweep_room
from momo_jobs.vocabulary import GpuInfo, Inventory


def job(id, sweep=None, resource="cpu", gpus=0, gpu_ids=()):
    return {"id": id, "resource": resource, "gpus": gpus, "gpu_ids": list(gpu_ids), "sweep_id": sweep}


def always(resource, gpus):
    return True


def started(starts):
    return [s.job_id for s in starts]


def test_a_sweep_starts_no_more_than_its_max_parallel():
    queued = [job(f"s{i}", "sw") for i in range(4)]
    room = sweep_room({"sw": 2}, [])
    assert started(jobs_to_start(queued, [], Inventory(cpu_slots=8), always, sweep_room=room)) == ["s0", "s1"]


def test_running_jobs_of_the_sweep_count_against_its_limit():
    running = [job("r1", "sw")]
    room = sweep_room({"sw": 2}, running)
    assert room == {"sw": 1}
    queued = [job("s1", "sw"), job("s2", "sw")]
    assert started(jobs_to_start(queued, running, Inventory(cpu_slots=8), always, sweep_room=room)) == ["s1"]
    assert held_by_sweep(queued, {"sw": 0}) == {"s1", "s2"}


def test_a_sweep_at_its_limit_holds_back_nothing_behind_it():
    queued = [job("s1", "sw"), job("s2", "sw"), job("other"), job("s3", "sw")]
    room = sweep_room({"sw": 1}, [])
    assert started(jobs_to_start(queued, [], Inventory(cpu_slots=3), always, sweep_room=room)) == ["s1", "other"]


def test_a_sweep_without_a_limit_is_plain_fifo():
    queued = [job(f"s{i}", "free") for i in range(3)]
    assert started(jobs_to_start(queued, [], Inventory(cpu_slots=2), always, sweep_room=sweep_room({}, []))) == [
        "s0", "s1"]


def test_gpu_sweeps_keep_their_limit_and_whole_gpus():
    queued = [job(f"g{i}", "sw", "gpu", 1) for i in range(3)]
    inventory = Inventory(gpus=[GpuInfo("0"), GpuInfo("1"), GpuInfo("2")])
    starts = jobs_to_start(queued, [], inventory, always, sweep_room=sweep_room({"sw": 2}, []))
    assert [(s.job_id, s.gpu_ids) for s in starts] == [("g0", ["0"]), ("g1", ["1"])]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", None]), max_size=20), st.integers(1, 6),
       st.integers(1, 3), st.integers(1, 3), st.integers(0, 3))
def test_no_sweep_ever_runs_more_than_its_limit(sweeps, slots, limit_a, limit_b, running_a):
    limits = {"a": limit_a, "b": limit_b}
    running = [job(f"r{i}", "a") for i in range(min(running_a, limit_a))]
    queued = [job(f"q{i}", s) for i, s in enumerate(sweeps)]
    starts = started(jobs_to_start(queued, running, Inventory(cpu_slots=slots + len(running)), always,
                                   sweep_room=sweep_room(limits, running)))
    by_id = {j["id"]: j for j in queued}
    for name, limit in limits.items():
        now = sum(1 for r in running if r["sweep_id"] == name) + sum(1 for s in starts if by_id[s]["sweep_id"] == name)
        assert now <= limit
    # Order within the queue is kept, and a free slot is never left while a startable job waits.
    assert starts == [j["id"] for j in queued if j["id"] in starts]
    if len(starts) < slots:
        room = sweep_room(limits, running + [by_id[s] for s in starts])
        assert all(room.get(j["sweep_id"], 1) <= 0 for j in queued if j["id"] not in starts)
