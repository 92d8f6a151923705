"""jobs_to_start and its helpers on their own: strict FIFO per queue, head-of-line
blocking, whole GPUs never given twice, has_room's veto, shared CPU slots."""
from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from momo_jobs.job.files import iso_from_unix
from momo_jobs.server.scheduler import (SharedGpus, Start, Waiter, cpu_slots_used, held_gpus, jobs_to_start,
                                        queue_positions)
from momo_jobs.vocabulary import GpuInfo, Inventory, queue_of

_ids = itertools.count(1)


def job(resource="cpu", gpus=0, gpu_ids=(), id=None):
    return {"id": id or f"j{next(_ids)}", "resource": resource, "gpus": gpus, "gpu_ids": list(gpu_ids)}


def gpu_job(n=1, **kw):
    return job("gpu", gpus=n, **kw)


def inventory(gpus=(), cpu_slots=1):
    return Inventory(gpus=[GpuInfo(index=g) for g in gpus], cpu_slots=cpu_slots)


def always(resource, gpus):
    return True


def started(starts):
    return [s.job_id for s in starts]


# CPU and console jobs: one queue over the CPU slots


def test_cpu_queue_is_fifo_and_fills_only_the_free_slots():
    queued = [job(id=f"c{i}") for i in range(5)]
    starts = jobs_to_start(queued, [], inventory(cpu_slots=3), always)
    assert starts == [Start("c0", []), Start("c1", []), Start("c2", [])]


def test_running_cpu_and_console_jobs_take_slots_but_gpu_jobs_do_not():
    running = [job("cpu"), job("console"), gpu_job(1, gpu_ids=["0"])]
    queued = [job(id="a"), job(id="b"), job(id="c")]
    assert started(jobs_to_start(queued, running, inventory(["0"], cpu_slots=3), always)) == ["a"]
    assert cpu_slots_used(running) == 2


def test_console_jobs_share_the_cpu_queue_and_its_slots():
    queued = [job("console", id="k1"), job("cpu", id="c1"), job("console", id="k2")]
    starts = jobs_to_start(queued, [], inventory(cpu_slots=2), always)
    assert starts == [Start("k1", []), Start("c1", [])]


def test_no_free_slot_starts_nothing():
    running = [job("cpu"), job("cpu")]
    assert jobs_to_start([job()], running, inventory(cpu_slots=2), always) == []
    # More running than slots (the setting was lowered) is no free slot either.
    assert jobs_to_start([job()], running, inventory(cpu_slots=1), always) == []


def test_extra_cpu_used_counts_against_the_slots():
    queued = [job(id="a"), job(id="b"), job(id="c")]
    inv = inventory(cpu_slots=3)
    assert started(jobs_to_start(queued, [], inv, always, extra_cpu_used=0)) == ["a", "b", "c"]
    assert started(jobs_to_start(queued, [], inv, always, extra_cpu_used=2)) == ["a"]
    assert started(jobs_to_start(queued, [job()], inv, always, extra_cpu_used=2)) == []
    assert cpu_slots_used([job(), job("console")], 2) == 4


# GPU jobs: one queue over whole GPUs


def test_gpu_queue_is_fifo_and_each_job_gets_its_own_gpus():
    queued = [gpu_job(1, id="g1"), gpu_job(2, id="g2"), gpu_job(1, id="g3")]
    starts = jobs_to_start(queued, [], inventory(["0", "1", "2", "3"]), always)
    assert started(starts) == ["g1", "g2", "g3"]
    assert [len(s.gpu_ids) for s in starts] == [1, 2, 1]
    given_out = [g for s in starts for g in s.gpu_ids]
    assert sorted(given_out) == ["0", "1", "2", "3"]


def test_a_multi_gpu_job_gets_distinct_free_ids_never_a_held_one():
    ids = ["GPU-a", "GPU-b", "GPU-c", "GPU-d", "GPU-e"]
    running = [gpu_job(1, gpu_ids=["GPU-b"]), gpu_job(2, gpu_ids=["GPU-a", "GPU-d"])]
    starts = jobs_to_start([gpu_job(2, id="big")], running, inventory(ids), always)
    assert len(starts) == 1 and starts[0].job_id == "big"
    assert sorted(starts[0].gpu_ids) == ["GPU-c", "GPU-e"]


def test_a_gpu_head_that_cannot_start_blocks_smaller_gpu_jobs_behind_it():
    running = [gpu_job(1, gpu_ids=["0"], id="r")]
    queued = [gpu_job(2, id="big"), gpu_job(1, id="small1"), gpu_job(1, id="small2"), job("cpu", id="c")]
    starts = jobs_to_start(queued, running, inventory(["0", "1"], cpu_slots=1), always)
    # GPU 1 is free and would fit "small1", but "big" is first in line: it waits, and
    # so does everything behind it in the GPU queue. The CPU queue goes on.
    assert starts == [Start("c", [])]


def test_a_cpu_head_that_cannot_start_does_not_block_the_gpu_queue():
    running = [job("cpu")]
    queued = [job("cpu", id="c1"), gpu_job(1, id="g1"), job("console", id="k1"), gpu_job(1, id="g2")]
    starts = jobs_to_start(queued, running, inventory(["0", "1"], cpu_slots=1), always)
    assert started(starts) == ["g1", "g2"]


def test_a_two_gpu_job_is_not_starved_by_a_stream_of_one_gpu_jobs():
    """Rounds of scheduling while one-GPU jobs keep arriving: the two-GPU job starts
    as soon as both GPUs are free, before any one-GPU job that came after it."""
    inv = inventory(["0", "1"])
    running = [gpu_job(1, gpu_ids=["0"], id="r0")]
    queued = [gpu_job(2, id="big")]
    order = []
    for round_ in range(6):
        queued.append(gpu_job(1, id=f"small{round_}"))
        for s in jobs_to_start(queued, running, inv, always):
            order.append(s.job_id)
            j = next(q for q in queued if q["id"] == s.job_id)
            queued.remove(j)
            running.append({**j, "gpu_ids": s.gpu_ids})
        if running:
            running.pop(0)  # the oldest running job ends
    assert order[0] == "big"
    assert order[1:] == sorted(order[1:], key=lambda i: int(i.removeprefix("small")))


def test_a_gpu_job_bigger_than_the_inventory_holds_the_gpu_queue():
    # The service refuses such a job at submit; the scheduler alone never starts it.
    queued = [gpu_job(3, id="huge"), gpu_job(1, id="g")]
    assert jobs_to_start(queued, [], inventory(["0", "1"]), always) == []
    assert jobs_to_start([gpu_job(1)], [], inventory([]), always) == []


def test_gpus_held_by_running_jobs_outside_the_inventory_do_not_count():
    running = [gpu_job(1, gpu_ids=["7"])]
    starts = jobs_to_start([gpu_job(2, id="g")], running, inventory(["0", "1"]), always)
    assert starts == [Start("g", ["0", "1"])]


def test_held_gpus_maps_each_gpu_to_its_job():
    running = [gpu_job(2, gpu_ids=["0", "2"], id="a"), job("cpu", id="b"), gpu_job(1, gpu_ids=["1"], id="c")]
    assert held_gpus(running) == {"0": "a", "2": "a", "1": "c"}


# has_room: the backend's last word


class Room:
    """has_room that answers from a rule and records what it was asked."""

    def __init__(self, rule):
        self.rule = rule
        self.calls = []

    def __call__(self, resource, gpus):
        answer = self.rule(resource, gpus)
        self.calls.append((resource, gpus, answer))
        return answer


def test_has_room_veto_on_the_gpu_head_blocks_the_gpu_queue_only():
    room = Room(lambda resource, gpus: not (resource == "gpu" and gpus == 2))
    queued = [gpu_job(2, id="big"), gpu_job(1, id="small"), job("cpu", id="c")]
    starts = jobs_to_start(queued, [], inventory(["0", "1", "2"], cpu_slots=1), room)
    assert starts == [Start("c", [])]
    assert room.calls == [("gpu", 2, False), ("cpu", 0, True)]


def test_has_room_veto_on_a_console_head_blocks_the_cpu_queue():
    room = Room(lambda resource, gpus: resource != "console")
    queued = [job("console", id="k"), job("cpu", id="c"), gpu_job(1, id="g")]
    starts = jobs_to_start(queued, [], inventory(["0"], cpu_slots=4), room)
    assert starts == [Start("g", ["0"])]
    assert room.calls == [("console", 0, False), ("gpu", 1, True)]


def test_has_room_is_asked_only_when_the_job_would_otherwise_start():
    # A yes from has_room may reserve resources for the launch that follows (Ray), so
    # it is never asked about a job that can't start anyway.
    room = Room(always)
    running = [job("cpu"), gpu_job(1, gpu_ids=["0"])]
    queued = [job("cpu"), gpu_job(2), job("console"), gpu_job(1)]
    assert jobs_to_start(queued, running, inventory(["0", "1"], cpu_slots=1), room) == []
    assert room.calls == []


# Queue positions


def test_queue_positions_are_one_based_per_queue():
    queued = [job("cpu", id="c1"), gpu_job(1, id="g1"), job("console", id="k1"),
              gpu_job(2, id="g2"), job("cpu", id="c2")]
    positions = {job_id: place.position for job_id, place in queue_positions(queued).items()}
    assert positions == {"c1": 1, "g1": 1, "k1": 2, "g2": 2, "c2": 3}
    assert queue_positions([]) == {}


# Property: whatever the state, no GPU is given twice, none that is held, and each
# queue starts a prefix of itself.


@st.composite
def states(draw):
    n = draw(st.integers(0, 6))
    ids = [f"GPU-{i}" for i in range(n)]
    free = list(ids)
    running = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["cpu", "console", "gpu"]))
        if kind == "gpu":
            take = draw(st.integers(0, len(free)))
            held, free = free[:take], free[take:]
            if draw(st.booleans()):
                held.append(f"GPU-gone-{len(running)}")  # a GPU no longer in the inventory
            if not held:
                continue
            running.append(job("gpu", gpus=len(held), gpu_ids=held, id=f"r{len(running)}"))
        else:
            running.append(job(kind, id=f"r{len(running)}"))
    order = draw(st.permutations(ids))  # the inventory's order is NVML's, not sorted
    queued = [job(kind, gpus=draw(st.integers(1, 4)) if kind == "gpu" else 0, id=f"q{i}")
              for i, kind in enumerate(draw(st.lists(st.sampled_from(["cpu", "console", "gpu"]), max_size=10)))]
    inv = inventory(order, cpu_slots=draw(st.integers(0, 4)))
    answers = draw(st.lists(st.booleans(), min_size=1, max_size=12))
    return queued, running, inv, answers, draw(st.integers(0, 3))


@settings(max_examples=400, deadline=None)
@given(states())
def test_property_gpus_never_given_twice_nor_held_and_queues_stay_fifo(state):
    queued, running, inv, answers, extra = state
    replies = itertools.cycle(answers)
    room = Room(lambda resource, gpus: next(replies))
    starts = jobs_to_start(queued, running, inv, room, extra)

    by_id = {j["id"]: j for j in queued}
    given_out = [g for s in starts for g in s.gpu_ids]
    assert len(given_out) == len(set(given_out)), starts
    assert not set(given_out) & set(held_gpus(running)), starts
    assert set(given_out) <= {g.index for g in inv.gpus}
    for s in starts:
        j = by_id[s.job_id]
        assert len(s.gpu_ids) == (j["gpus"] if j["resource"] == "gpu" else 0)
    # Every yes from has_room is a start, and every start had a yes.
    assert sum(1 for *_, answer in room.calls if answer) == len(starts)

    started_ids = [s.job_id for s in starts]
    assert len(started_ids) == len(set(started_ids))
    for queue in ("cpu", "gpu"):
        line = [j["id"] for j in queued if queue_of(j["resource"]) == queue]
        mine = [i for i in started_ids if queue_of(by_id[i]["resource"]) == queue]
        assert mine == line[:len(mine)], (queue, line, mine)
    free_slots = max(0, inv.cpu_slots - cpu_slots_used(running, extra))
    cpu_started = sum(1 for i in started_ids if queue_of(by_id[i]["resource"]) == "cpu")
    assert cpu_started <= free_slots
    # A queue stops only where its head can't start: too few free, or has_room said no.
    cpu_line = [j for j in queued if queue_of(j["resource"]) == "cpu"]
    if cpu_started < len(cpu_line):
        head = cpu_line[cpu_started]
        assert cpu_started == free_slots or (head["resource"], 0, False) in room.calls
    gpu_line = [j for j in queued if j["resource"] == "gpu"]
    gpu_started = len(started_ids) - cpu_started
    if gpu_started < len(gpu_line):
        head = gpu_line[gpu_started]
        free = len({g.index for g in inv.gpus} - set(held_gpus(running))) - len(given_out)
        assert free < head["gpus"] or ("gpu", head["gpus"], False) in room.calls


# The common GPU line of a shared machine (SharedGpus: what the lock folder says)


def queued_gpu_job(n, created, id):
    return {**gpu_job(n, id=id), "created_at": iso_from_unix(created)}


def test_an_older_waiter_of_another_server_goes_first_and_keeps_the_gpus_of_its_pool():
    shared = SharedGpus(user="me", waiters=[Waiter("user2", 100.0, 1, ["0", "1"])])
    queued = [queued_gpu_job(1, 101.0, "mine")]
    # Two free GPUs: the older waiter will take one, this server's job the other.
    assert jobs_to_start(queued, [], inventory(["0", "1"]), always, shared=shared) == [Start("mine", ["1"])]
    # One free GPU: it is the older waiter's.
    shared.taken = {"0": "held by user3"}
    assert jobs_to_start(queued, [], inventory(["0", "1"]), always, shared=shared) == []
    place = queue_positions(queued, inventory(["0", "1"]), shared)["mine"]
    assert (place.position, place.others_ahead) == (2, 1)


def test_a_two_gpu_waiter_is_not_starved_by_younger_one_gpu_jobs_of_any_server():
    shared = SharedGpus(user="me", taken={"0": "held by user2"}, waiters=[Waiter("user2", 100.0, 2, ["0", "1"])])
    queued = [queued_gpu_job(1, 101.0, "small")]
    assert jobs_to_start(queued, [], inventory(["0", "1"]), always, shared=shared) == []


def test_a_waiter_whose_pool_is_elsewhere_holds_nothing_back():
    shared = SharedGpus(user="me", waiters=[Waiter("user2", 100.0, 1, [])])
    queued = [queued_gpu_job(1, 101.0, "mine")]
    assert jobs_to_start(queued, [], inventory(["0"]), always, shared=shared) == [Start("mine", ["0"])]


def test_jobs_beyond_the_per_user_cap_wait_without_holding_others_back():
    shared = SharedGpus(user="me", held_per_user={"me": 1}, max_gpus_per_user=1,
                        waiters=[Waiter("user2", 102.0, 1, ["0", "1"])])
    queued = [queued_gpu_job(1, 101.0, "mine")]
    # This server's job is over the cap: the younger waiter of user2 may take a GPU, and
    # nothing of this server starts.
    assert jobs_to_start(queued, [], inventory(["0", "1"]), always, shared=shared) == []
    assert queue_positions(queued, inventory(["0", "1"]), shared)["mine"].over_cap
    shared.held_per_user = {"me": 0}
    assert jobs_to_start(queued, [], inventory(["0", "1"]), always, shared=shared) == [Start("mine", ["0"])]
