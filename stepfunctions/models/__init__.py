"""The engine's records: definitions, executions, callback tokens, history, the event log, keys."""

from stepfunctions.models.access_keys import AccessKey
from stepfunctions.models.children import ChildGroup
from stepfunctions.models.workflow import (
    CallbackToken,
    Event,
    Execution,
    HistoryEvent,
    StateMachine,
    StateMachineVersion,
)
from stepfunctions.workflow import Cursor

__all__ = [
    "AccessKey",
    "CallbackToken",
    "ChildGroup",
    "Cursor",
    "Event",
    "Execution",
    "HistoryEvent",
    "StateMachine",
    "StateMachineVersion",
]
