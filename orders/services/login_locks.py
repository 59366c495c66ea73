"""Login throttling: failed logins counted per account and per client address (settings'
RATE_LIMITS "login-account" and "login-address"); an account or address past its failures is
locked until its window ends, even for the right password, and staff may lift an account's lock.

Counted in Redis by stepfunctions.services.rate_limits (fixed windows aligned to the clock), so
every web process sees the same counts. The default, 10 per 15 minutes per account, keeps within
OWASP ASVS 2.2.1 (at most 100 failed attempts per hour on one account): an hour meets at most
five windows, 50 attempts.
"""

import contextlib
import hashlib
from datetime import datetime, timedelta

from django.utils import timezone

from stepfunctions.services.rate_limits import (
    RateLimited,
    rate_limit_check,
    rate_limit_hit,
    rate_limit_reset,
)

ACCOUNT = "login-account"
ADDRESS = "login-address"


class LoginLocked(Exception):
    """Logins of this account (or from this address) are refused until `until`, `retry_after`
    whole seconds from now."""

    def __init__(self, scope: str, retry_after: int, until: datetime) -> None:
        super().__init__(f"{scope} locked until {until.isoformat()}")
        self.scope = scope
        self.retry_after = retry_after
        self.until = until

    def message(self) -> str:
        """What the person is told: when they may try again, in the site's time and from now."""
        minutes = max(1, -(-self.retry_after // 60))
        who = "this account" if self.scope == ACCOUNT else "this network address"
        return (
            f"Too many failed logins for {who}. You may try again at "
            f"{timezone.localtime(self.until):%H:%M} {timezone.get_current_timezone_name()} "
            f"(in {minutes} minute{'s' if minutes != 1 else ''})."
        )


def _account(username: object) -> str:
    # A digest: any username (any length, any characters) makes a short Redis key.
    return hashlib.sha256(str(username).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _locked(limited: RateLimited) -> LoginLocked:
    now = timezone.now().replace(microsecond=0)
    return LoginLocked(
        limited.scope, limited.retry_after, now + timedelta(seconds=limited.retry_after)
    )


def login_lock_check(*, username: object, address: str) -> None:
    """Raises LoginLocked while `username`'s account or `address` has used up its failures
    (the account's first). Counts nothing: called before the password is checked."""
    try:
        rate_limit_check(scope=ACCOUNT, who=_account(username))
        rate_limit_check(scope=ADDRESS, who=address)
    except RateLimited as limited:
        raise _locked(limited) from None


def login_failure_count(*, username: object, address: str) -> None:
    """Counts one failed login against the account and the address; past the limit it is still
    counted, and the next attempt is refused."""
    for scope, who in ((ACCOUNT, _account(username)), (ADDRESS, address)):
        with contextlib.suppress(RateLimited):
            rate_limit_hit(scope=scope, who=who)


def login_lock_lift(*, username: str) -> None:
    """Ends the account's run of failures (a success, or staff lifting its lock); the addresses
    it was tried from keep their counts. Idempotent."""
    rate_limit_reset(scope=ACCOUNT, who=_account(username))


def login_locked_until(*, username: str) -> datetime | None:
    """When the account's lock ends, or None if it is not locked."""
    try:
        rate_limit_check(scope=ACCOUNT, who=_account(username))
    except RateLimited as limited:
        return _locked(limited).until
    return None
