"""Every shell command in the README, as written, against `manage.py runsystem` (which is what
`make run` starts) on the embedded defaults in a throwaway var/ dir.

Only what a reader fills in is filled in: the <executionArn>, <token> and <token2> read from the
commands' own answers, the development key runsystem prints for AKIA... / ..., and the port.
"Your own workflows" runs as its reader does it (its HTTP Task too: the connection made from
the repository's directory, the machine created where its definition is saved): its example
task (the README's `reports/tasks.py` as written) in an app `reports` added to INSTALLED_APPS
(here a settings module importing the test settings and adding it, both on PYTHONPATH:
runsystem's task worker imports it), its definition saved as `report.asl.json` in the reader's
directory.
Each ```sh block runs in one shell: its `export` and `.` lines hold for the commands after them.
`make run` and `make test` are checked with `make -n` (they are this system and this suite).
The deployment blocks (docker-compose, honcho, backups) need a Docker engine or a deployment's
.env, which a test machine lacks: they are checked for the tools and files they name, and CI
validates the compose file itself (`make compose-config`).
"""

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.system import REPO, answers_200, running_system, scheduled_tokens

CUSTOMER_WAIT = "Emit - Workflow Started TT"
BARISTA_WAIT = "Emit - Awaiting Completion TT"
_KEY_LINE = re.compile(r"AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+)")
_SETUP = re.compile(r"^(export |\. )")


def readme_commands() -> list[list[str]]:
    """The README's ```sh blocks: each a list of commands, continuation lines joined and lines
    that are only a comment left out (bash drops a trailing comment itself)."""
    text = (REPO / "README.md").read_text()
    blocks = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        blocks.append(
            [line for line in joined.splitlines() if line.strip() and not line.startswith("#")]
        )
    return blocks


# The first word of every command in a deployment block.
_DEPLOYMENT_TOOLS = {"cp", "docker-compose", ".venv/bin/honcho"}


def local_and_deployment_blocks() -> tuple[list[list[str]], list[list[str]]]:
    """The blocks this test runs (make, the seed's steps, the aws CLI) and the deployment ones."""
    blocks = readme_commands()
    deployment = [
        block for block in blocks if all(c.split()[0] in _DEPLOYMENT_TOOLS for c in block)
    ]
    return [block for block in blocks if block not in deployment], deployment


def report_example() -> tuple[str, str]:
    """ "Your own workflows"' example task (its `reports/tasks.py`) and the definition after it."""
    text = (REPO / "README.md").read_text()
    task = re.search(r"```python\n(# reports/tasks\.py\n.*?)```", text, flags=re.S)
    assert task, "the README's reports/tasks.py"
    definition = re.search(r"```json\n(.*?)```", text[task.end() :], flags=re.S)
    assert definition, "the README's definition after reports/tasks.py"
    return task.group(1), definition.group(1)


def test_the_readme_has_the_commands_this_test_runs():
    blocks, deployment = local_and_deployment_blocks()
    flat = [command for block in blocks for command in block]
    assert len(blocks) == 7 and len(flat) >= 20
    assert len(deployment) >= 3
    for block in deployment:
        for command in block:
            for word in re.findall(r"\b(deploy/[\w./-]+|\.env\.example)", command):
                assert (REPO / word).is_file(), f"{command!r} names a file that does not exist"
    assert any("update-state-machine" in command for command in flat)
    readme = (REPO / "README.md").read_text()
    for command in flat:
        for word in re.findall(r"file://(\S+)", command):
            # A file of the repository, or one the README has the reader save.
            saved = f"saved as `{word}`" in readme
            assert saved or (REPO / word).is_file(), f"{command!r} names a file that does not exist"
    _, definition = report_example()
    assert json.loads(definition)["States"]["Build report"]["Resource"].endswith("task.sync")


class Shell:
    """Runs README commands as a reader would, filling in what the reader fills in."""

    def __init__(self, system, home: Path) -> None:
        self.system = system
        self.env = {**system.env, "HOME": str(home), "AWS_CONFIG_FILE": "/dev/null"}
        self.values: dict[str, str] = {}
        self.setup: list[str] = []

    def fill(self, command: str) -> str:
        command = command.replace("http://127.0.0.1:8000", self.system.url)
        for name, value in self.values.items():
            command = command.replace(f"<{name}>", shlex.quote(value))
        assert "<" not in command.replace("<<", ""), f"nothing to fill in {command!r} with"
        return command

    def run(self, command: str, *, cwd: Path | None = None) -> str:
        """Runs `command` after the block's setup lines (in the repository), in `cwd` if given."""
        move = [f"cd {shlex.quote(str(cwd))}"] if cwd else []
        script = "\n".join([*self.setup, *move, self.fill(command)])
        done = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=REPO, env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, f"{command!r} failed:\n{done.stdout}\n{done.stderr}"
        if _SETUP.match(command):
            self.setup.append(self.fill(command))
        return done.stdout

    def token(self, history_command: str, state_name: str) -> str:
        """Runs the README's get-execution-history until the wait's token is there (the worker
        gets to the wait a moment after the command that started it)."""

        def scheduled():
            return scheduled_tokens(json.loads(self.run(history_command))["events"], state_name)

        return wait_for(scheduled, timeout=30, interval=0.5, message=state_name)[-1]


def _key(system) -> tuple[str, str]:
    def printed():
        match = system.alive() and _KEY_LINE.search(system.log())
        return match and answers_200(f"{system.url}/admin/login/") and match

    return wait_for(printed, timeout=60, interval=0.5, message="the key line").groups()


def reader_app(directory: Path, settings: str) -> dict[str, str]:
    """What the reader of "Your own workflows" does, in `directory`: the README's reports/tasks.py
    in an app `reports`, added to INSTALLED_APPS of `settings`; the environment that uses it."""
    task, _ = report_example()
    (directory / "reports").mkdir(parents=True)
    (directory / "reports" / "__init__.py").write_text("")
    (directory / "reports" / "tasks.py").write_text(task)
    (directory / "readme_settings.py").write_text(
        f"from {settings} import *  # noqa: F403\n\n"
        'INSTALLED_APPS = [*INSTALLED_APPS, "reports"]  # noqa: F405\n'
    )
    path = [str(directory), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {"PYTHONPATH": os.pathsep.join(path), "DJANGO_SETTINGS_MODULE": "readme_settings"}


def run_express_block(shell: Shell, block: list[str]) -> int:
    """ "Express workflows": past the `sync-` host prefix, a synchronous run's answer is its end.
    Returns how many commands ran."""
    for command in block:
        output = shell.run(command)
    answer = json.loads(output)
    assert answer["status"] == "SUCCEEDED" and json.loads(answer["output"]) == "hello", answer
    assert ":express:Hello:" in answer["executionArn"]
    return len(block)


def run_report_block(shell: Shell, block: list[str], reader: Path) -> int:
    """ "Your own workflows"' commands in the reader's directory, where the definition is saved
    as the README says; the execution ends with the example task's result. Returns how many ran."""
    _, definition = report_example()
    (reader / "report.asl.json").write_text(definition)
    ran = 0
    for command in block:
        if "describe-execution" in command:
            # Run again until the task worker has run the task and the stage after it.
            output = wait_for(
                lambda c=command: '"SUCCEEDED"' in (o := shell.run(c, cwd=reader)) and o,
                timeout=60, interval=0.5, message="SUCCEEDED",
            )  # fmt: skip
            described = json.loads(output)
            report = {"customerId": 7, "month": "2026-11", "rows": 10000}
            assert json.loads(described["output"])["report"] == report, described
        else:
            output = shell.run(command, cwd=reader)
        if "start-execution" in command:
            shell.values["executionArn"] = json.loads(output)["executionArn"]
        ran += 1
    return ran


def run_http_blocks(shell: Shell, connection_block: list[str], http_block: list[str],
                    reader: Path) -> int:  # fmt: skip
    """ "The HTTP Task": its connection made from the repository's directory (the command prints
    its ARN), its definition saved as `payments.asl.json` in the reader's directory, the machine
    created and started there (its call goes to the README's placeholder API, so only the
    start's answer is checked). Returns how many commands ran."""
    command = "\n".join(connection_block)  # one command: Python code in quotes, over lines
    assert command.startswith(".venv/bin/python manage.py shell -c")
    arn = shell.run(command).strip().splitlines()[-1]
    assert arn.startswith("arn:aws:events:us-east-1:123456789012:connection/payments/"), arn
    text = (REPO / "README.md").read_text()
    [definition] = [b for b in re.findall(r"```json\n(.*?)```", text, flags=re.S)
                    if "http:invoke" in b]  # fmt: skip
    (reader / "payments.asl.json").write_text(definition)
    for command in http_block:
        output = shell.run(command, cwd=reader)
    assert ":execution:Payments:" in json.loads(output)["executionArn"]
    return 1 + len(http_block)


@pytest.mark.integration
def test_every_readme_command_runs_as_written(tmp_path):
    blocks, _ = local_and_deployment_blocks()
    make_block, seed_block, aws_block, express_block, report_block, connection_block, http_block = (
        blocks
    )
    for command in make_block:
        target = command.split()[1]
        done = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout, (command, done.stderr)

    settings = os.environ["DJANGO_SETTINGS_MODULE"]
    reader = tmp_path / "reader"
    env = reader_app(reader, settings)
    with running_system(tmp_path, env=env) as system:
        key_id, secret = _key(system)
        shell = Shell(system, tmp_path)
        ran = 0
        for block in (seed_block, aws_block):
            shell.setup = []
            histories = 0
            history = ""
            for command in block:
                command = command.replace("AKIA...", key_id).replace("=... ", f"={secret} ")
                if "get-execution-history" in command:
                    # The reader reads the customer's token here, and the barista's later from
                    # the same command's answer.
                    histories += 1
                    history = command
                    shell.values["token"] = shell.token(command, CUSTOMER_WAIT)
                    ran += 1
                    continue
                if "<token2>" in command:
                    shell.values["token2"] = shell.token(history, BARISTA_WAIT)
                if "describe-execution" in command:
                    # Run again until the worker has finished the last stage.
                    output = wait_for(
                        lambda c=command: '"SUCCEEDED"' in (o := shell.run(c)) and o,
                        timeout=30,
                        interval=0.5,
                        message="SUCCEEDED",
                    )
                else:
                    output = shell.run(command)
                ran += 1
                if "start-execution" in command:
                    shell.values["executionArn"] = json.loads(output)["executionArn"]
                if "update-state-machine" in command:
                    assert "updateDate" in json.loads(output)
                if "describe-execution" in command:
                    described = json.loads(output)
                    assert described["status"] == "SUCCEEDED", described
                    assert json.loads(described["output"])["Order"]["Payload"]["orderNumber"] >= 1
            assert histories == 1
        # Set up as in "Step Functions API" (the aws block's export lines), as the README says.
        ran += run_express_block(shell, express_block)
        ran += run_report_block(shell, report_block, reader)
        ran += run_http_blocks(shell, connection_block, http_block, reader)
        assert ran >= 18
