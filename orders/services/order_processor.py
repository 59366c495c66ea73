"""The coffee bar's workflow: the repository's ASL file, kept in step with the stored machine."""

import json
from pathlib import Path
from typing import Any

from stepfunctions.errors import StateMachineAlreadyExists
from stepfunctions.models import StateMachine
from stepfunctions.services import state_machine_create, state_machine_update

DEFINITIONS_DIR = Path(__file__).resolve().parent.parent / "definitions"
ORDER_PROCESSOR = "OrderProcessorWorkflow"
# The definition's own state names the coffee bar follows.
CUSTOMER_WAIT = "Emit - Workflow Started TT"
BARISTA_WAIT = "Emit - Awaiting Completion TT"
FINISHED = "Emit - Order Finished"
# The Pass states that say why an order ended without coffee (their name becomes its reason).
CUSTOMER_TIMED_OUT = "Customer timedout"
BARISTA_TIMED_OUT = "Barista timedout"
CUSTOMER_CANCELLED = "Customer cancelled"
ORDER_CANCELLED = "Order cancelled"
# The reason of an order the shop refused (closed or at capacity).
SHOP_UNAVAILABLE = "Shop unavailable"
# The error both waits Catch to end the order as cancelled (see the ASL definition).
CANCELLED_ERROR = "OrderCancelled"


def order_processor_document() -> dict[str, Any]:
    """The OrderProcessorWorkflow as the repository holds it."""
    return json.loads((DEFINITIONS_DIR / f"{ORDER_PROCESSOR}.asl.json").read_text())


def order_processor_sync() -> StateMachine:
    """Makes the stored OrderProcessorWorkflow match the repository's file (idempotent)."""
    machine = StateMachine.objects.filter(name=ORDER_PROCESSOR).first()
    if machine is None:
        try:
            return state_machine_create(name=ORDER_PROCESSOR, definition=order_processor_document())
        except StateMachineAlreadyExists:
            machine = StateMachine.objects.get(name=ORDER_PROCESSOR)
    state_machine_update(state_machine=machine, definition=order_processor_document())
    return machine
