"""The API's one paging helper: pages never overlap, a token serves only its own list."""

import pytest
from django.db.models import Q

from stepfunctions.api.paging import page
from stepfunctions.errors import InvalidToken, ValidationException
from stepfunctions.selectors import state_machines
from stepfunctions.services import state_machine_create

DOCUMENT = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}


def _page(kind="machines", **options):
    options = {"max_results": 2, "next_token": None, **options}
    return page(
        state_machines().filter(name__startswith="m-"),
        kind=kind,
        after=lambda name: Q(name__gt=name),
        key=lambda m: m.name,
        **options,
    )


@pytest.fixture
def machines(db):
    for name in ("m-c", "m-a", "m-e", "m-b", "m-d"):
        state_machine_create(name=name, definition=DOCUMENT)


def test_pages_follow_each_other_without_overlap(machines):
    names, token = [], None
    while True:
        rows, token = _page(next_token=token)
        names.extend(m.name for m in rows)
        if token is None:
            break
    assert names == ["m-a", "m-b", "m-c", "m-d", "m-e"]


def test_a_full_last_page_has_no_next_token(machines):
    rows, token = _page(max_results=5)
    assert (len(rows), token) == (5, None)


def test_a_token_of_another_list_or_garbage_is_refused(machines):
    _, token = _page()
    with pytest.raises(InvalidToken):
        _page(kind="executions", next_token=token)
    with pytest.raises(InvalidToken):
        _page(next_token="garbage")


@pytest.mark.parametrize(("max_results", "size"), [(None, 5), (0, 5), (1, 1)])
def test_page_size_defaults_to_100(machines, max_results, size):
    assert len(_page(max_results=max_results)[0]) == size


def test_page_size_over_1000_is_refused(machines):
    with pytest.raises(ValidationException):
        _page(max_results=1001)
