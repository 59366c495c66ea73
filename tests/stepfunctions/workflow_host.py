"""A fake in-memory Host for driving the ASL interpreter in unit tests, and helpers around it."""

from datetime import UTC, datetime

from stepfunctions.workflow import StatesError, load_definition, start

LAMBDA = "arn:aws:states:::lambda:invoke"
CALLBACK = "arn:aws:states:::events:putEvents.waitForTaskToken"
CONTEXT = {
    "Execution": {
        "Id": "arn:aws:states:us-east-1:123456789012:execution:Machine:exec-1",
        "Input": {"order": 1},
        "Name": "exec-1",
        "StartTime": "2024-05-01T12:00:00.000Z",
        "RedriveCount": 0,
    },
    "StateMachine": {
        "Id": "arn:aws:states:us-east-1:123456789012:stateMachine:Machine",
        "Name": "Machine",
    },
}


class Host:
    """Records history (event ids from 1, as AWS numbers them) and answers Task states from
    `answers`: a value is returned, an exception raised."""

    def __init__(self, answers=None):
        self.answers = answers or {}
        self.events = []
        self.invocations = []

    def new_token(self):
        return f"token-{len(self.invocations) + 1}"

    def invoke(self, resource, parameters, *, state_name, token):
        self.invocations.append((state_name, parameters))
        answer = self.answers.get(state_name, {})
        if isinstance(answer, Exception):
            raise answer
        return answer

    def record(self, event_type, details):
        self.events.append((event_type, details))
        return len(self.events)

    def now(self):
        return datetime(2024, 5, 1, 12, 0, 5, tzinfo=UTC)

    def types(self):
        return [event_type for event_type, _ in self.events]

    def last(self, event_type):
        return [details for kind, details in self.events if kind == event_type][-1]


def machine(states, start_at=None):
    return load_definition({"StartAt": start_at or next(iter(states)), "States": states})


def run(states, data, *, answers=None, start_at=None):
    """Runs a definition made of `states` on `data`; returns (Outcome, Host)."""
    host = Host(answers)
    return start(machine(states, start_at), data, context=CONTEXT, host=host), host


def run_pass(data, **fields):
    """Runs one Pass state with `fields` on `data`; returns the Outcome."""
    return run({"P": {"Type": "Pass", "End": True} | fields}, data)[0]


__all__ = ["CALLBACK", "CONTEXT", "LAMBDA", "Host", "StatesError", "machine", "run", "run_pass"]
