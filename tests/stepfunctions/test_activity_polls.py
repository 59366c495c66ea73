"""GetActivityTask's wait on an event loop (stepfunctions.services.activity_polls), in-process:
an empty answer after the poll's seconds, and a poll woken by Redis's announcement of a task
scheduled while it waits (its periodic database look set past the poll's end, so only the
announcement can bring the task)."""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from stepfunctions.services.activities import activity_create
from stepfunctions.services.activity_polls import activity_task_wait, wakeups
from tests.stepfunctions.test_activities import activity_machine, start


@pytest.fixture
def activity(transactional_db, settings):
    settings.SFN_ACTIVITY_RECHECK_SECONDS = 60
    return activity_create(name="polled")[0]


def wait_in_a_loop(activity, seconds: float) -> tuple[dict | None, float]:
    """The poll in an event loop of its own: (its answer, its seconds)."""

    async def poll():
        started = time.monotonic()
        try:
            task = await activity_task_wait(activity=activity, worker_name="loop", seconds=seconds)
            assert wakeups().waiting == {}  # the poll left no listener behind
            return task, time.monotonic() - started
        finally:
            await sync_to_async(connections.close_all)()

    # In a thread of its own: the browser tests' driver leaves a loop running in the main thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, poll()).result()


def test_an_idle_poll_answers_empty_after_its_seconds(activity):
    task, seconds = wait_in_a_loop(activity, 0.5)
    assert task is None and 0.5 <= seconds < 2


def test_a_task_scheduled_while_it_waits_wakes_the_poll(inline_stages, activity):
    machine = activity_machine(activity)
    answer: list = []
    poller = threading.Thread(target=lambda: answer.append(wait_in_a_loop(activity, 10)))
    poller.start()
    time.sleep(0.5)  # listening
    start(machine, n=7)
    poller.join(15)
    task, seconds = answer[0]
    assert task is not None and task["input"] == '{"n":7}'
    assert seconds < 5  # woken by the announcement, long before the poll's end
