"""The nudge: one Celery message that wakes a worker to run every due stage, sent only when none
is pending, so at load one message carries many stages and at rest a stage starts at once.

The database holds the truth (an execution READY with `due_at` passed); the broker only carries
nudges, and a Redis flag (SET NX) says one is on its way.

Why no due stage is left without a worker (the ordering argument, tested in
tests/stepfunctions/test_stage_batching.py):

- A producer commits a due stage, THEN calls `stages_nudge_send`: SET NX the flag; it sends a
  message only if it set the flag.
- The worker that takes a message DELETES the flag, THEN claims due stages, and claims again until
  a claim comes back short (executions.stages_run_due).
- If the producer's SET found the flag set, some message was sent after that SET and its worker
  has not yet deleted the flag: that worker deletes it after the producer's commit, so its claims
  begin after the commit and see the stage. If the SET found no flag, the producer sends a message
  of its own. Either way a claim that starts after the commit is coming.
- Clearing the flag AFTER the claim instead would lose a stage committed between the two: the
  producer's SET would see the flag, and the only worker coming would already have claimed.

A message lost with the broker leaves the flag set for at most NUDGE_TTL_SECONDS, and its stages to
the relay (executions_relay), which sends them again once they are due for a few seconds. A send
that fails clears the flag at once, so the next commit tries again. Without Redis the flag cannot
be read: the nudge is sent anyway (more messages, never a lost stage).
"""

import logging

import redis

from stepfunctions.services.events import redis_client

logger = logging.getLogger(__name__)

NUDGE_KEY = "stepfunctions:stages-nudge"
# Long enough to cover a busy queue; short enough that a lost message costs little.
NUDGE_TTL_SECONDS = 5


def stages_nudge_send() -> bool:
    """Sends a nudge unless one is pending (call after commit). Returns whether it sent one."""
    from stepfunctions.tasks import advance_execution

    try:
        if not redis_client().set(NUDGE_KEY, 1, nx=True, ex=NUDGE_TTL_SECONDS):
            return False
    except redis.RedisError as error:
        logger.warning("Could not read the nudge flag (%s); nudging anyway", error)
    try:
        advance_execution.apply_async(args=[])
    except BaseException:
        nudge_flag_clear()  # nothing is on its way: the next commit must send one
        raise
    return True


def nudge_flag_clear() -> None:
    """Says no nudge is pending: a worker calls it BEFORE it claims (see the module's docstring)."""
    try:
        redis_client().delete(NUDGE_KEY)
    except redis.RedisError as error:
        # The flag expires on its own; until then the relay covers what a nudge would have.
        logger.warning("Could not clear the nudge flag: %s", error)
