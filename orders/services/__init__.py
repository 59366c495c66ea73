"""The rules of the order backend. Views, commands, tasks and the admin call these and hold none."""

from orders.services.callbacks import task_failure, task_heartbeat, task_success, tokens_expire
from orders.services.executions import (
    execution_advance,
    execution_start,
    execution_stop,
    executions_recover,
)
from orders.services.state_machines import (
    order_processor_sync,
    state_machine_create,
    state_machine_get,
    state_machine_update,
)

__all__ = [
    "execution_advance",
    "execution_start",
    "execution_stop",
    "executions_recover",
    "order_processor_sync",
    "state_machine_create",
    "state_machine_get",
    "state_machine_update",
    "task_failure",
    "task_heartbeat",
    "task_success",
    "tokens_expire",
]
