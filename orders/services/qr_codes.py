"""The display board's rotating QR code: one per 5-minute window, good for a number of drinks.

Spending a drink is one conditional UPDATE (remaining > 0 and not expired): under any number of
concurrent scans the count stops at zero, and a scan either spends a drink or is refused.
"""

import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from orders.errors import QRCodeInvalid
from orders.models import QRCode
from orders.services.shop_config import shop_config_get

WINDOW_SECONDS = 300


def _window_start(now: datetime) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % WINDOW_SECONDS, tz=now.tzinfo)


def qr_code_current(*, now: datetime | None = None) -> QRCode:
    """The code of the current window, made on first request; two boards asking share one."""
    now = now or timezone.now()
    start = _window_start(now)
    code = QRCode.objects.filter(window_start=start).first()
    if code is not None:
        return code
    drinks = shop_config_get().drinks_per_barcode
    try:
        with transaction.atomic():
            return QRCode.objects.create(
                code=secrets.token_urlsafe(16),
                window_start=start,
                expires_at=start + timedelta(seconds=WINDOW_SECONDS),
                drinks=drinks,
                remaining=drinks,
            )
    except IntegrityError:
        return QRCode.objects.get(window_start=start)


def qr_code_spend(*, code: str, now: datetime | None = None) -> QRCode:
    """Spends one drink of the code, or says plainly why it cannot."""
    now = now or timezone.now()
    spent = QRCode.objects.filter(code=code, expires_at__gt=now, remaining__gt=0).update(
        remaining=F("remaining") - 1
    )
    found = QRCode.objects.filter(code=code).first()
    if spent:
        return found
    if found is None:
        raise QRCodeInvalid("This QR code is not one of ours. Scan the code on the display board.")
    if found.expires_at <= now:
        raise QRCodeInvalid(
            "This QR code has expired (they change every 5 minutes). "
            "Scan the one on the display board now."
        )
    raise QRCodeInvalid(
        "This QR code has been used for all its drinks. Wait for the next one on the display board."
    )
