"""LocalStack's Step Functions as a yardstick for bench.throughput: the seed's lifecycle driven by
the same boto3 clients (bench.clients.ClientPool) at the same client levels, with its
lifecycles/s, callback-to-next-wait p99 (from its own histories) and the CPU its process tree
spent per lifecycle, beside the machine's busy CPU less the clients'.

LocalStack runs from a venv of its own under var/ (made here on first use with Python 3.13,
pip from PyPI), never the project's. When it cannot be installed or started, the yardstick is
skipped with a note, not an error.
"""

import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import boto3

from bench import meters, stats, system, yardsticks
from bench.clients import BARISTA_WAIT, CUSTOMER_WAIT, ClientPool, Target, sfn_client
from bench.report import say

VERSION = "2026.3.0"
# What installs under Python 3.13 (issue 26): newer cbor2, cryptography and pyOpenSSL do not.
REQUIREMENTS = [f"localstack-core[runtime]=={VERSION}", "cbor2<6", "cryptography<45",
                "pyopenssl<25", "service_identity"]  # fmt: skip
PYTHON = os.environ.get("BENCH_LOCALSTACK_PYTHON", "/root/.pyenv/versions/3.13.0/bin/python3.13")
VENV = Path(os.environ.get("BENCH_LOCALSTACK_VENV", system.REPO / "var" / "localstack-venv"))
SERVICES = "stepfunctions,events,sts,iam"
INSTALL_TIMEOUT = 900
# How many executions' histories are read for the callback-to-next-wait figure, per level.
HISTORIES = 300


def _importable(python: Path) -> bool:
    if not python.exists():
        return False
    found = subprocess.run([str(python), "-c", "import localstack.runtime.main"],
                           capture_output=True, timeout=120)  # fmt: skip
    return found.returncode == 0


def venv_python(venv: Path = VENV, python: str = PYTHON) -> tuple[Path | None, str]:
    """The venv's Python with LocalStack importable, installed into `venv` (with `python`, a
    3.13) when missing; (None, why) when it cannot be."""
    own = venv / "bin" / "python"
    if _importable(own):
        return own, f"LocalStack {VERSION} in {venv}"
    if not Path(python).exists():
        return None, f"no Python 3.13 at {python} (set BENCH_LOCALSTACK_PYTHON)"
    say(f"LocalStack: installing {VERSION} into {venv} (pip, PyPI)")
    try:
        subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True,
                       timeout=300)  # fmt: skip
        subprocess.run([str(own), "-m", "pip", "install", "-q", *REQUIREMENTS], check=True,
                       capture_output=True, timeout=INSTALL_TIMEOUT)  # fmt: skip
    except (subprocess.SubprocessError, OSError) as error:
        detail = getattr(error, "stderr", b"") or b""
        return None, f"could not install: {error} {detail.decode(errors='replace')[-300:]}"
    if not _importable(own):
        return None, f"installed into {venv}, but localstack.runtime.main does not import"
    return own, f"LocalStack {VERSION} installed now in {venv}"


@contextlib.contextmanager
def running(python: Path, work_dir: Path, timeout: float = 120) -> Iterator[tuple[str, int]]:
    """`python -m localstack.runtime.main` on a free port of 127.0.0.1, its files under
    `work_dir` (host mode: no DNS server, nothing under /var/lib); (its URL, its pid) once its
    health check answers; stopped with its tree on the way out."""
    port = system.free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "PYTHON", "DJANGO_", "VIRTUAL_ENV"))}  # fmt: skip
    env.update(
        SERVICES=SERVICES, GATEWAY_LISTEN=f"127.0.0.1:{port}", DEBUG="0", DNS_ADDRESS="0",
        OVERRIDE_IN_DOCKER="0", FILESYSTEM_ROOT=str(work_dir / "filesystem"),
        SKIP_SSL_CERT_DOWNLOAD="1", DISABLE_EVENTS="1", LOCALSTACK_TELEMETRY="0",
    )  # fmt: skip
    work_dir.mkdir(parents=True, exist_ok=True)
    log = work_dir / "localstack.log"
    with log.open("ab") as out:
        process = subprocess.Popen([str(python), "-m", "localstack.runtime.main"], cwd=work_dir,
                                   env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while system.http_status(f"{url}/_localstack/health") != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"LocalStack did not start: {log.read_text()[-1000:]}")
            time.sleep(0.5)
        yield url, process.pid
    finally:
        system.process_stop(process, timeout=20, group=True)


def seed_machine(url: str) -> Target:
    """The seed's workflow (its Lambda steps as Pass states, as for moto) and its event bus made
    in LocalStack; the clients' target."""

    keys = {"region_name": "us-east-1", "aws_access_key_id": "test",
            "aws_secret_access_key": "test"}  # fmt: skip
    boto3.client("events", endpoint_url=url, **keys).create_event_bus(Name="Serverlesspresso")
    target = Target(url, "test", "test", "", await_submitted=True)
    arn = sfn_client(target).create_state_machine(
        name="OrderProcessorWorkflow", roleArn="arn:aws:iam::000000000000:role/bench",
        definition=yardsticks.seed_definition(runnable=True),
    )["stateMachineArn"]  # fmt: skip
    return Target(url, "test", "test", arn, await_submitted=True)


def history_gaps(events: list[dict]) -> list[float]:
    """Seconds from each callback (the wait's TaskSucceeded) to the execution's next wait (the
    barista wait's TaskScheduled) or its end (ExecutionSucceeded), from one history: the same
    figure bench.throughput reads from this project's database."""
    entered, at = None, {}
    for event in events:
        kind = event["type"]
        if kind == "TaskStateEntered":
            entered = event["stateEnteredEventDetails"]["name"]
        elif kind in ("TaskScheduled", "TaskSucceeded"):
            at.setdefault((entered, kind), event["timestamp"])
        elif kind == "ExecutionSucceeded":
            at["end"] = event["timestamp"]
    pairs = [((CUSTOMER_WAIT, "TaskSucceeded"), (BARISTA_WAIT, "TaskScheduled")),
             ((BARISTA_WAIT, "TaskSucceeded"), "end")]  # fmt: skip
    return [(at[b] - at[a]).total_seconds() for a, b in pairs if a in at and b in at]


def callback_gaps(target: Target, prefix: str, limit: int = HISTORIES) -> dict:
    """history_gaps over (at most `limit` of) the executions named prefix-*."""
    sfn = sfn_client(target)
    arns, token = [], None
    while True:
        page = sfn.list_executions(stateMachineArn=target.state_machine_arn, maxResults=1000,
                                   **({"nextToken": token} if token else {}))  # fmt: skip
        arns += [e["executionArn"] for e in page["executions"] if e["name"].startswith(prefix)]
        token = page.get("nextToken")
        if not token:
            break
    gaps: list[float] = []
    for arn in arns[:limit]:
        gaps += history_gaps(sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"])
    return stats.summary_ms(gaps)


def measure_level(pool: ClientPool, target: Target, pid: int, clients: int, duration: float,
                  ramp: float, baseline: float = 2.0) -> dict:  # fmt: skip
    """One level: lifecycles/s after the ramp, callback-to-next-wait, and CPU per lifecycle:
    LocalStack's process tree's, and the machine's less the clients' and this process's."""
    with meters.ServerCpu(pid, None, baseline=baseline,
                          measure=lambda p: {"LocalStack": meters.tree_cpu(p)}) as server:  # fmt: skip
        run = pool.run(clients, f"ls{clients}", duration=duration)
    run["ramp"] = ramp
    figures = stats.level_figures(run)
    cpu = stats.cpu_figures(run, server.spent, server.machine)
    figures["cpu"] = {
        key: cpu.get(key)
        for key in ("lifecycles completed", "API calls per lifecycle",
                    "client CPU ms per lifecycle",
                    "server CPU ms per lifecycle (machine less clients)",
                    "busy cores at rest before",
                    "server CPU ms per lifecycle (less clients and the load at rest)")
    }  # fmt: skip
    figures["cpu"]["server CPU ms per lifecycle"] = (
        (cpu or {}).get("server CPU ms per lifecycle", {}).get("LocalStack")
    )
    figures["server"] = callback_gaps(target, f"ls{clients}-")
    return figures


def measure(levels: list[int], seconds: float, cap: float, processes: int, *,
            venv: Path = VENV, python: str = PYTHON) -> dict:  # fmt: skip
    """The yardstick at each client level (windows as bench.throughput sizes them), or
    {"skipped": why} with the note printed when LocalStack cannot be installed or started."""
    own, note = venv_python(venv, python)
    if own is None:
        say(f"LocalStack skipped: {note}")
        return {"skipped": note}
    results: dict = {"server": f"{note}, SERVICES={SERVICES}, one process (python -m "
                     "localstack.runtime.main)", "sweep": {}}  # fmt: skip
    try:
        with (
            tempfile.TemporaryDirectory(
                prefix="wtbench-localstack-", ignore_cleanup_errors=True
            ) as work_dir,
            running(own, Path(work_dir)) as (url, pid),
        ):
            target = seed_machine(url)
            pool = ClientPool(target, processes)
            try:
                pool.run(1, "lswarm", duration=60, max_count=2)
                rate = 0.0
                for clients in levels:
                    ramp = clients / rate if rate else seconds / 4
                    duration = min(max(seconds, ramp + seconds), cap)
                    figures = measure_level(pool, target, pid, clients, duration,
                                            min(ramp, duration / 2))  # fmt: skip
                    rate = figures["lifecycles/s"] or rate
                    results["sweep"][clients] = figures
                    say(f"LocalStack {clients:>3} clients: {figures['lifecycles/s']} lifecycles/s,"
                        f" callback-to-next-wait p99 {figures['server']['p99_ms']} ms, server CPU"
                        f" {figures['cpu']['server CPU ms per lifecycle']} ms per lifecycle,"
                        f" errors {figures['errors']}")  # fmt: skip
            finally:
                pool.close()
    except Exception as error:  # noqa: BLE001 (a yardstick that cannot run is a note, not a crash)
        note = f"LocalStack did not run: {error}"[:500]
        say(f"LocalStack skipped: {note}")
        return {"skipped": note, **({"sweep": results["sweep"]} if results["sweep"] else {})}
    return results
