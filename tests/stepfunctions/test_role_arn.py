"""$$.Execution.RoleArn is the roleArn given at CreateStateMachine (or UpdateStateMachine since),
and DescribeStateMachine answers it, as on AWS. Machines stored before the role was kept get
the role the context object gave them until then."""

import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from stepfunctions import services
from stepfunctions.models import StateMachine
from tests.conftest import wait_for

ROLE = "arn:aws:iam::123456789012:role/service-role/StepFunctions-Tiny-role"
OTHER_ROLE = "arn:aws:iam::123456789012:role/other"
SHOWS_ROLE = {
    "StartAt": "Role",
    "States": {
        "Role": {"Type": "Pass", "Parameters": {"role.$": "$$.Execution.RoleArn"}, "End": True}
    },
}


def _role_seen(sfn, arn):
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    finished = wait_for(
        lambda: (d := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and d,
        message="the machine to finish",
    )
    return json.loads(finished["output"])["role"]


@pytest.mark.integration
def test_the_role_given_at_creation_is_the_execution_role_and_described(live_stages, sfn):
    definition = json.dumps(SHOWS_ROLE)
    arn = sfn.create_state_machine(name="Roles", definition=definition, roleArn=ROLE)[
        "stateMachineArn"
    ]
    assert sfn.describe_state_machine(stateMachineArn=arn)["roleArn"] == ROLE
    assert _role_seen(sfn, arn) == ROLE

    sfn.update_state_machine(stateMachineArn=arn, roleArn=OTHER_ROLE)
    assert sfn.describe_state_machine(stateMachineArn=arn)["roleArn"] == OTHER_ROLE
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == SHOWS_ROLE
    assert _role_seen(sfn, arn) == OTHER_ROLE

    # CreateStateMachine is idempotent only for the same definition and role.
    again = sfn.create_state_machine(name="Roles", definition=definition, roleArn=OTHER_ROLE)
    assert again["stateMachineArn"] == arn
    with pytest.raises(sfn.exceptions.StateMachineAlreadyExists):
        sfn.create_state_machine(name="Roles", definition=definition, roleArn=ROLE)


def test_a_machine_created_without_a_role_gets_the_default_role(inline_stages):
    machine = services.state_machine_create(name="NoRole", definition=SHOWS_ROLE)
    assert machine.role_arn == "arn:aws:iam::123456789012:role/NoRoleRole"
    execution, _ = services.execution_start(state_machine=machine, input={})
    execution.refresh_from_db()
    assert execution.output == {"role": machine.role_arn}


def test_an_app_creating_its_machine_again_without_a_role_keeps_the_role_it_was_given(
    transactional_db,
):
    machine = services.state_machine_create(name="Kept", definition=SHOWS_ROLE, role_arn=ROLE)
    again = services.state_machine_create(name="Kept", definition=SHOWS_ROLE)
    assert (again.pk, again.role_arn) == (machine.pk, ROLE)


def test_machines_stored_before_the_role_was_kept_get_the_role_they_ran_as(transactional_db):
    executor = MigrationExecutor(connection)
    before, after = (
        ("stepfunctions", "0002_execution_timeout_at"),
        ("stepfunctions", "0003_statemachine_role_arn"),
    )
    executor.migrate([before])
    try:
        old_apps = executor.loader.project_state([before]).apps
        old_apps.get_model("stepfunctions", "StateMachine").objects.create(name="Older")
        executor = MigrationExecutor(connection)
        executor.migrate([after])
    finally:
        MigrationExecutor(connection).migrate(
            MigrationExecutor(connection).loader.graph.leaf_nodes()
        )
    older = StateMachine.objects.get(name="Older")
    assert older.role_arn == "arn:aws:iam::123456789012:role/OlderRole"
