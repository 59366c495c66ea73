"""Every shell command in the README, as written, against `manage.py runsystem` (which is what
`make run` starts) on the embedded defaults in a throwaway var/ dir.

Only what a reader fills in is filled in: the <executionArn>, <token> and <token2> read from the
commands' own answers, the development key runsystem prints for AKIA... / ..., and the port.
Each ```sh block runs in one shell: its `export` and `.` lines hold for the commands after them.
`make run` and `make test` are checked with `make -n` (they are this system and this suite).
The deployment blocks (docker-compose, honcho, backups) need a Docker engine or a deployment's
.env, which a test machine lacks: they are checked for the tools and files they name, and CI
validates the compose file itself (`make compose-config`).
"""

import json
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


def test_the_readme_has_the_commands_this_test_runs():
    blocks, deployment = local_and_deployment_blocks()
    flat = [command for block in blocks for command in block]
    assert len(blocks) == 3 and len(flat) >= 14
    assert len(deployment) >= 3
    for block in deployment:
        for command in block:
            for word in re.findall(r"\b(deploy/[\w./-]+|\.env\.example)", command):
                assert (REPO / word).is_file(), f"{command!r} names a file that does not exist"
    assert any("update-state-machine" in command for command in flat)
    for command in flat:
        for word in re.findall(r"file://(\S+)", command):
            assert (REPO / word).is_file(), f"{command!r} names a file that does not exist"


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

    def run(self, command: str) -> str:
        script = "\n".join([*self.setup, self.fill(command)])
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


@pytest.mark.integration
def test_every_readme_command_runs_as_written(tmp_path):
    (make_block, seed_block, aws_block), _ = local_and_deployment_blocks()
    for command in make_block:
        target = command.split()[1]
        done = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout, (command, done.stderr)

    with running_system(tmp_path) as system:
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
        assert ran >= 12
