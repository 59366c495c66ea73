"""The engine's records: definitions, executions, callback tokens, history, the event log, keys,
the HTTP Task's connections."""

from stepfunctions.models.access_keys import AccessKey
from stepfunctions.models.activities import Activity
from stepfunctions.models.aliases import StateMachineAlias
from stepfunctions.models.children import ChildGroup
from stepfunctions.models.connections import Connection
from stepfunctions.models.events import Event
from stepfunctions.models.executions import Execution
from stepfunctions.models.history import HistoryEvent
from stepfunctions.models.map_runs import MapRun
from stepfunctions.models.state_machines import StateMachine, StateMachineVersion
from stepfunctions.models.tags import Tag
from stepfunctions.models.task_messages import TaskMessage
from stepfunctions.models.tokens import CallbackToken
from stepfunctions.workflow import Cursor

__all__ = [
    "AccessKey",
    "Activity",
    "CallbackToken",
    "ChildGroup",
    "Connection",
    "Cursor",
    "Event",
    "Execution",
    "HistoryEvent",
    "MapRun",
    "StateMachine",
    "StateMachineAlias",
    "StateMachineVersion",
    "Tag",
    "TaskMessage",
]
