"""stepfunctions.models.rows: instances read by SQL written once are the ORM's instances (every
value converted as the field converts it, the joined rows cached as select_related caches them),
so the API's hot reads can skip the query compiler without anything downstream telling."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from stepfunctions import selectors, services
from stepfunctions.models import Execution, StateMachine, StateMachineVersion
from stepfunctions.models.rows import Part, Rows, column, table
from tests.conftest import SEED_INPUT

_JOINED = Rows(
    Part(Execution, "e"),
    Part(StateMachine, "m", attach="state_machine"),
    Part(StateMachineVersion, "v", attach="version", omit=("definition",)),
    extra=("machine_name",),
)


def _sql() -> str:
    def col(model, name: str) -> str:
        return column(model, name, connection)

    return (
        f"SELECT {_JOINED.columns(connection)}, m.{col(StateMachine, 'name')}"  # noqa: S608
        f" FROM {table(Execution, connection)} e"
        f" JOIN {table(StateMachine, connection)} m"
        f" ON m.{col(StateMachine, 'id')} = e.{col(Execution, 'state_machine')}"
        f" JOIN {table(StateMachineVersion, connection)} v"
        f" ON v.{col(StateMachineVersion, 'id')} = e.{col(Execution, 'version')}"
        f" ORDER BY e.{col(Execution, 'name')}"
    )


@pytest.fixture
def executions(machine, inline_stages):
    # inline_stages runs each to its first wait: a cursor, history, a due time all written.
    return [
        services.execution_start(state_machine=machine, input=SEED_INPUT, name=name)[0]
        for name in ("first", "second")
    ]


def _values(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_instances_are_what_the_orm_builds_and_share_their_joined_rows(executions):
    read = _JOINED.fetch(_sql(), (), connection)
    orm = list(Execution.objects.select_related("state_machine", "version").order_by("name"))

    assert [e.name for e in read] == ["first", "second"]
    with CaptureQueriesContext(connection) as queries:
        for mine, theirs in zip(read, orm, strict=True):
            assert _values(mine) == _values(theirs)  # UUIDs, JSON, datetimes converted alike
            assert isinstance(mine.input, dict) and mine.input["detail"]
            assert _values(mine.state_machine) == _values(theirs.state_machine)
            assert mine.version.number == theirs.version.number
            assert mine.machine_name == theirs.state_machine.name  # an extra column
            assert mine._state.adding is False and mine._state.db == "default"
    assert queries.captured_queries == []  # the joined rows were cached, not loaded
    # One machine instance for the rows that share it, as a claimed batch relies on.
    assert read[0].state_machine is read[1].state_machine
    # An omitted field is deferred: read only when asked for, and then the stored value.
    assert read[0].version.get_deferred_fields() == {"definition"}
    assert read[0].version.definition == orm[0].version.definition


def test_a_saved_instance_writes_back_like_an_orm_one(executions):
    execution = _JOINED.fetch(_sql(), (), connection)[0]
    execution.error = "States.Changed"
    execution.save(update_fields=["error"])
    assert Execution.objects.get(pk=execution.pk).error == "States.Changed"


def test_the_first_part_is_the_one_the_others_attach_to():
    with pytest.raises(ValueError, match="first part"):
        Rows(Part(StateMachine, "m", attach="state_machine"))
    with pytest.raises(ValueError, match="first part"):
        Rows(Part(Execution, "e"), Part(StateMachine, "m"))


def test_the_api_reads_name_only_top_level_executions(executions):
    execution = executions[0]
    found = selectors.execution_get(arn=execution.arn)
    assert (found.pk, found.state_machine.name, found.version.number) == (
        execution.pk,
        execution.state_machine.name,
        1,
    )
    assert selectors.execution_id_get(arn=execution.arn) == execution.pk
    assert selectors.state_machine_named(name=execution.state_machine.name).pk == (
        execution.state_machine_id
    )
    assert selectors.state_machine_named(name="NoSuchMachine") is None
