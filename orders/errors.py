"""The coffee bar's refusals, answered like the engine's (a code and a message, with an HTTP status)."""

from stepfunctions.errors import InvalidToken, ServiceError, TaskTimedOut


class OrderDoesNotExist(ServiceError):
    """No such order, or not one this user may see (the two are not told apart)."""

    http_status = 404


class OrderNotWaiting(ServiceError):
    """The order is not waiting for this callback (already answered, timed out or finished)."""

    http_status = 409


class OrderClaimed(ServiceError):
    """Another barista is making this order."""

    http_status = 409


class NoMoreTime(ServiceError):
    """The customer has asked for more time to choose as often as an order allows."""

    http_status = 409


class DailyLimitReached(ServiceError):
    """The customer has had as many orders today as the shop allows."""

    http_status = 429


class QRCodeInvalid(ServiceError):
    """The scanned code is unknown, expired or spent."""

    http_status = 410


class SoldOut(ServiceError):
    """The drink or option is sold out right now (or not on the menu at all)."""

    http_status = 409


# A callback that came too late: the order (or its token) no longer waits for it. Screens say so
# in plain words instead of the engine's error text.
TOO_LATE = (OrderNotWaiting, TaskTimedOut, InvalidToken)
