"""The versions and aliases services: weighted routing with a given draw, publishing's
idempotence and numbering, and the revision an execution keeps."""

import pytest

from stepfunctions import services
from stepfunctions.errors import ConflictException, ServiceQuotaExceededException
from stepfunctions.models import StateMachineAlias
from stepfunctions.services import versions

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "End": True}}}


def _pass(result) -> dict:
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": True}}}


@pytest.fixture
def two_versions(transactional_db):
    machine = services.state_machine_create(name="Routed", definition=_pass(1))
    services.version_publish(state_machine=machine)
    services.state_machine_update(state_machine=machine, definition=_pass(2))
    services.version_publish(state_machine=machine)
    return machine


@pytest.mark.parametrize(
    ("routing", "draws", "expected"),
    [
        ([[1, 100], [2, 0]], [0.0, 0.5, 0.999999], [1, 1, 1]),
        ([[1, 0], [2, 100]], [0.0, 0.5, 0.999999], [2, 2, 2]),
        ([[1, 30], [2, 70]], [0.0, 0.2999, 0.3, 0.999999], [1, 1, 2, 2]),
        ([[2, 100]], [0.0, 0.999999], [2, 2]),
    ],
)
def test_alias_route_follows_the_weights(routing, draws, expected):
    alias = StateMachineAlias(name="a", routing=routing)
    assert [versions.alias_route(alias=alias, draw=lambda d=d: d) for d in draws] == expected


def test_start_through_an_alias_keeps_the_routed_version(two_versions, inline_stages):
    machine = two_versions
    routing = [
        {"stateMachineVersionArn": f"{machine.arn}:1", "weight": 30},
        {"stateMachineVersionArn": f"{machine.arn}:2", "weight": 70},
    ]
    versions.alias_create(state_machine=machine, name="live", routing=routing)
    for draw, number in ((0.1, 1), (0.9, 2)):
        target, version, qualifier = versions.start_target(
            arn=f"{machine.arn}:live", draw=lambda draw=draw: draw
        )
        assert (version.published_number, qualifier) == (number, f"live:{number}")
        execution, _ = services.execution_start(
            state_machine=target, version=version, qualifier=qualifier
        )
        execution.refresh_from_db()
        assert (execution.status, execution.output) == ("SUCCEEDED", number)


def test_publishing_numbers_and_the_version_limit(two_versions, monkeypatch):
    machine = two_versions
    latest = services.version_publish(state_machine=machine)
    assert latest.published_number == 2  # unchanged: the version it already is
    with pytest.raises(ConflictException):
        services.version_publish(state_machine=machine, revision_id="1")
    services.state_machine_update(state_machine=machine, definition=_pass(3))
    monkeypatch.setattr(versions, "MAX_VERSIONS", 2)
    with pytest.raises(ServiceQuotaExceededException):
        services.version_publish(state_machine=machine)
    versions.version_delete(state_machine=machine, number=1)
    assert services.version_publish(state_machine=machine).published_number == 3
