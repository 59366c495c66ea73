"""Rate limits: a fixed-window counter per (scope, who) in Redis, shared by every web process.

settings.RATE_LIMITS gives each scope's limit as (count, window seconds). Windows are aligned to
the clock (window number = now // seconds), so a key names one window and expires after it: Redis
holds only the windows in use, and a test moves into the next window by moving the clock. When
Redis cannot be reached the limit is not enforced (logged): a broker blip must not turn every
login or callback into an error.
"""

import logging
import time

import redis
from django.conf import settings

logger = logging.getLogger(__name__)
_client: tuple[str, redis.Redis] | None = None
# Count and set the expiry on the window's first hit, atomically: no key outlives its window.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


class RateLimited(Exception):
    """Over the scope's limit; `retry_after` whole seconds until the window ends."""

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(f"Rate exceeded for {scope}; retry in {retry_after} s")
        self.scope = scope
        self.retry_after = retry_after


def _redis() -> redis.Redis:
    global _client
    if _client is None or _client[0] != settings.REDIS_URL:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
        _client = (settings.REDIS_URL, client)
    return _client[1]


def _window(scope: str, who: str) -> tuple[str, int, int]:
    """The current window's key, the scope's limit, and whole seconds until the window ends."""
    limit, seconds = settings.RATE_LIMITS[scope]
    now = time.time()
    number = int(now // seconds)
    left = max(int((number + 1) * seconds - now + 0.999), 1)
    return f"ratelimit:{scope}:{who}:{number}", limit, left


def rate_limit_hit(*, scope: str, who: str) -> None:
    """Counts one request of `who` in `scope`; raises RateLimited past the scope's limit."""
    key, limit, left = _window(scope, who)
    try:
        count = int(_redis().eval(_HIT, 1, key, left + 1))
    except redis.RedisError as error:
        logger.warning("rate limit %s not enforced: %s", scope, error)
        return
    if count > limit:
        raise RateLimited(scope, left)


def rate_limit_check(*, scope: str, who: str) -> None:
    """Raises RateLimited if `who` has used up the scope's limit; counts nothing (the caller
    counts what should count, e.g. failures, with rate_limit_hit)."""
    key, limit, left = _window(scope, who)
    try:
        count = int(_redis().get(key) or 0)
    except redis.RedisError as error:
        logger.warning("rate limit %s not enforced: %s", scope, error)
        return
    if count >= limit:
        raise RateLimited(scope, left)


def rate_limit_reset(*, scope: str, who: str) -> None:
    """Forgets `who`'s count in the current window (a success ends a run of failures)."""
    key, _, _ = _window(scope, who)
    try:
        _redis().delete(key)
    except redis.RedisError as error:
        logger.warning("rate limit %s not reset: %s", scope, error)
