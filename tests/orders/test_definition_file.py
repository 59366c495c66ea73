"""The OrderProcessorWorkflow file: valid ASL for AWS's own linter and for our engine."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from orders.services.order_processor import DEFINITIONS_DIR, order_processor_document
from stepfunctions import resources
from stepfunctions.workflow import load_definition

STATELINT = Path(sys.executable).with_name("statelint")
DEFINITION = DEFINITIONS_DIR / "OrderProcessorWorkflow.asl.json"


def _statelint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(STATELINT), str(path)], capture_output=True, text=True, timeout=60)


def test_statelint_accepts_the_workflow():
    result = _statelint(DEFINITION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_statelint_would_catch_a_broken_copy(tmp_path):
    # The check above can fail: the same linter refuses the file with a dangling Next.
    broken = order_processor_document()
    broken["States"]["Generate Order Number"]["Next"] = "Nowhere"
    path = tmp_path / "broken.asl.json"
    path.write_text(json.dumps(broken))
    result = _statelint(path)
    assert result.returncode != 0 and "Nowhere" in result.stdout


def test_the_engine_loads_it_with_every_resource_registered():
    definition = load_definition(
        order_processor_document(), resource_known=resources.resource_known
    )
    assert definition.start_at == "Get Shop Status"
    waits = {
        name: state.raw["HeartbeatSeconds"]
        for name, state in definition.states.items()
        if state.raw.get("Resource", "").endswith(".waitForTaskToken")
    }
    assert waits == {"Emit - Workflow Started TT": 900, "Emit - Awaiting Completion TT": 900}


@pytest.mark.parametrize("name", ["Customer timedout", "Barista timedout"])
def test_timeout_pass_states_are_the_seeds(name):
    state = order_processor_document()["States"][name]
    assert (state["Type"], state["Result"], state["ResultPath"]) == ("Pass", name, "$.cause")
