"""The one paging helper of the List/Get operations: maxResults and nextToken as the API has them.

A nextToken is opaque to clients; here it is the kind of list and the last row's key, so a token
from one list is refused by another (InvalidToken), as AWS refuses it.
"""

import base64
from collections.abc import Callable
from typing import Any

from django.db.models import Q, QuerySet

from stepfunctions.errors import InvalidToken, ValidationException


def max_results_check(max_results: int | None) -> int:
    """The page size: 100 when not given (or 0), at most 1000, as the API documents."""
    if max_results in (None, 0):
        return 100
    if not 0 <= max_results <= 1000:
        raise ValidationException(
            "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: "
            "Member must have value less than or equal to 1000"
        )
    return max_results


def page(
    rows: QuerySet,
    *,
    kind: str,
    max_results: int | None,
    next_token: str | None,
    after: Callable[[str], Q],
    key: Callable[[Any], str],
) -> tuple[list, str | None]:
    """One page of `rows` (already in the list's order) and the next page's token, if any.

    `key(row)` is what a token remembers of the last row; `after(key)` filters the rows past it.
    """

    def fetch(value: str | None, count: int) -> list:
        return list((rows if value is None else rows.filter(after(value)))[:count])

    return page_fetched(fetch, kind=kind, max_results=max_results, next_token=next_token, key=key)


def page_fetched(
    fetch: Callable[[str | None, int], list],
    *,
    kind: str,
    max_results: int | None,
    next_token: str | None,
    key: Callable[[Any], str],
) -> tuple[list, str | None]:
    """page() for rows read another way than a QuerySet: `fetch(value, count)` returns at most
    `count` rows past the row whose key is `value` (from the start when None); a ValueError it
    raises on a value it cannot read is an InvalidToken."""
    limit = max_results_check(max_results)
    value = None
    if next_token:
        try:
            found, _, value = base64.urlsafe_b64decode(next_token.encode()).decode().partition(":")
            if found != kind:
                raise ValueError(found)
        except ValueError:
            raise InvalidToken(f"Invalid Token: '{next_token}'") from None
    try:
        items = fetch(value, limit + 1)
    except ValueError:
        if value is None:
            raise
        raise InvalidToken(f"Invalid Token: '{next_token}'") from None
    if len(items) <= limit:
        return items, None
    last = key(items[limit - 1])
    return items[:limit], base64.urlsafe_b64encode(f"{kind}:{last}".encode()).decode()
