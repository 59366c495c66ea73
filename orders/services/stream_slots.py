"""Open anonymous live streams per client address, counted in Redis for every web process.

Each open stream holds a lease: a member of the address's sorted set, scored with the Redis clock
time at which it lapses. A stream renews its lease while it runs and removes it when it ends; a
stream whose process was killed stops renewing, and its lease lapses within
STREAM_SLOT_LEASE_SECONDS, so a crash never leaks a slot for longer than that. Taking a slot is one
Lua script (drop lapsed leases, count, add), so two processes racing for the last slot cannot both
win. Redis's own clock scores the leases: web processes on several hosts agree on it.
"""

import redis
import redis.asyncio as aioredis
from django.conf import settings

_client: tuple[str, redis.Redis] | None = None

# Returns 1 and adds the lease when fewer than the cap are open, else 0.
_TAKE = """
local now = redis.call('TIME')
local now_s = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_s)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now_s + tonumber(ARGV[3]), ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3])) + 1)
return 1
"""
# Pushes the lease's end forward, only while it is still held (XX: a lapsed lease stays gone).
_RENEW = """
local now = redis.call('TIME')
local now_s = tonumber(now[1]) + tonumber(now[2]) / 1000000
local renewed = redis.call('ZADD', KEYS[1], 'XX', 'CH', now_s + tonumber(ARGV[2]), ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
return renewed
"""


def _key(address: str) -> str:
    return f"stream-slots:{address}"


def _redis() -> redis.Redis:
    """The process's client for taking slots (thread-safe; the views that take them are sync)."""
    global _client
    if _client is None or _client[0] != settings.REDIS_URL:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2, driver_info=None
        )
        _client = (settings.REDIS_URL, client)
    return _client[1]


def stream_slot_take(*, address: str, stream_id: str) -> bool:
    """True when `address` had fewer than STREAM_ANONYMOUS_PER_ADDRESS open streams and this one
    now holds a slot; False when the cap is reached (nothing changes). Atomic across processes.
    Raises redis.RedisError when Redis cannot be reached."""
    taken = _redis().eval(
        _TAKE,
        1,
        _key(address),
        stream_id,
        settings.STREAM_ANONYMOUS_PER_ADDRESS,
        settings.STREAM_SLOT_LEASE_SECONDS,
    )
    return bool(taken)


# Renewed and released from the stream itself, on its event loop, with the stream's own client.
async def stream_slot_renew(*, client: aioredis.Redis, address: str, stream_id: str) -> None:
    """Keeps a held slot for another STREAM_SLOT_LEASE_SECONDS; a lapsed one is not revived."""
    await client.eval(_RENEW, 1, _key(address), stream_id, settings.STREAM_SLOT_LEASE_SECONDS)


async def stream_slot_release(*, client: aioredis.Redis, address: str, stream_id: str) -> None:
    """Frees the slot at once (idempotent)."""
    await client.zrem(_key(address), stream_id)
