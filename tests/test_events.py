"""Job changes are pushed on jupyter_server's event bus (the UI needs no fast polling)."""
import asyncio
import json

from conftest import wait_for_job

SCHEMA = "urn:momo-jobs:events:job"


async def test_status_changes_and_queue_positions_are_pushed(jobs_api, jp_ws_fetch, write_script):
    ws = await jp_ws_fetch("api", "events", "subscribe")
    rel = write_script("quick.py", "import time\ntime.sleep(0.3)\nprint('done')\n")
    ids = [(await jobs_api("POST", "jobs", {"script": rel}))[1]["id"] for _ in range(3)]
    for job_id in ids:
        await wait_for_job(jobs_api, job_id)
    await jobs_api("DELETE", f"jobs/{ids[0]}")

    seen = []
    while True:
        try:
            message = await asyncio.wait_for(ws.read_message(), timeout=2)
        except asyncio.TimeoutError:
            break
        event = json.loads(message)
        if event["schema_id"] == SCHEMA:
            seen.append(event)
            if event["action"] == "deleted":
                break
    ws.close()

    for job_id in ids:
        mine = [(e["action"], e["status"]) for e in seen if e["job_id"] == job_id]
        assert mine[0] == ("created", "queued") or mine[0] == ("status", "running")
        assert ("status", "running") in mine and ("status", "completed") in mine
    # The third job waited behind two CPU slots and was told its position.
    third = [e["job"]["queue_position"] for e in seen if e["job_id"] == ids[2] and e["status"] == "queued"]
    assert 1 in third
    assert seen[-1]["action"] == "deleted" and seen[-1]["job_id"] == ids[0] and seen[-1]["job"] is None
