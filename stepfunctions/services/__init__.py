"""The engine's rules. Views, commands, tasks and the admin call these and hold none."""

from stepfunctions.services.callbacks import (
    task_failure,
    task_heartbeat,
    task_success,
    tokens_expire,
)
from stepfunctions.services.executions import execution_start, execution_stop
from stepfunctions.services.redrive import execution_redrive, execution_redrive_status
from stepfunctions.services.stages import execution_advance, stages_run_due
from stepfunctions.services.state_machines import (
    state_machine_create,
    state_machine_delete,
    state_machine_get,
    state_machine_update,
)
from stepfunctions.services.sweeps import (
    executions_recover,
    executions_relay,
    executions_time_out,
)
from stepfunctions.services.versions import start_target, version_publish

__all__ = [
    "execution_advance",
    "execution_start",
    "execution_stop",
    "executions_recover",
    "executions_relay",
    "executions_time_out",
    "state_machine_create",
    "state_machine_delete",
    "state_machine_get",
    "stages_run_due",
    "state_machine_update",
    "start_target",
    "version_publish",
    "task_failure",
    "task_heartbeat",
    "task_success",
    "tokens_expire",
    "execution_redrive",
    "execution_redrive_status",
]
