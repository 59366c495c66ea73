"""`manage.py runsystem`: the web server, the Celery workers and beat in the foreground, as one unit.

Two workers: `worker` runs the stages (Celery's default queue), `tasks-worker` the Task states'
Celery tasks (`celery:task.sync`, on STEPFUNCTIONS_TASK_QUEUE), each its own process, so a long
task never holds up another execution's stage.

With no REDIS_URL it also runs the embedded Redis on the settings' Unix socket, so a fresh clone
needs nothing but Python. A child that dies (the embedded Redis too) is started again after a
backoff, and the restart is logged: a half-running system (a web server whose stages never run)
must not stay that way. Only Ctrl-C or SIGTERM stops it all.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections

from serverlesspresso import embedded_redis
from serverlesspresso.operations.network import lan_address
from stepfunctions.services.access_keys import access_key_ensure_development

# gunicorn waits this long for in-flight requests on SIGTERM; runsystem waits a little longer
# for every child before it kills what is left.
GRACEFUL_SECONDS = 10
KILL_AFTER_SECONDS = GRACEFUL_SECONDS + 5
# A dead child is started again after 1, 2, 4 ... up to 15 seconds; the delay starts over once it
# has run this long.
RESTART_FIRST_SECONDS = 1.0
RESTART_MAX_SECONDS = 15.0
RESTART_STABLE_SECONDS = 10.0


class Command(BaseCommand):
    help = "Runs the whole system in the foreground: web server, Celery workers and beat."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--lan",
            action="store_true",
            help="listen on all interfaces; phones on this network open the printed address",
        )

    def handle(self, *args: Any, host: str, port: int, lan: bool, **options: Any) -> None:
        phone_url = None
        if lan:
            host = "0.0.0.0"  # noqa: S104 (the point: reachable from the bar's Wi-Fi)
            phone_url = f"http://{lan_address()}:{port}"
            # The children's PUBLIC_BASE_URL: the QR code points there and the host is allowed.
            os.environ.setdefault("PUBLIC_BASE_URL", phone_url)
        if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            # The children share a fresh metrics directory: /metrics shows the worker's stages too.
            metrics_dir = Path(settings.VAR_DIR) / "prometheus"
            shutil.rmtree(metrics_dir, ignore_errors=True)
            metrics_dir.mkdir(parents=True)
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        self._stopping = threading.Event()
        self._output_lock = threading.Lock()
        self._children: dict[str, subprocess.Popen] = {}
        self._commands: dict[str, list[str]] = {}
        self._readers: list[threading.Thread] = []
        redis_process: subprocess.Popen | None = None
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        try:
            if settings.REDIS_URL.startswith("unix://"):
                # None means a server already answers there (another runsystem): share, not own.
                redis_process = embedded_redis.start(
                    Path(settings.REDIS_URL.removeprefix("unix://"))
                )
            call_command("migrate", interactive=False, verbosity=1)
            key = access_key_ensure_development() if settings.SFN_DEVELOPMENT_KEY else None
            # The children open their own connections; ours would only sit idle.
            connections.close_all()
            self._start_children(host, port)
            address = f"[{host}]" if ":" in host else host
            with self._output_lock:
                self.stdout.write(
                    f"Serverlesspresso listens on http://{address}:{port}/ "
                    f"(admin: http://{address}:{port}/admin/); Ctrl-C stops it."
                )
                if phone_url is not None:
                    self.stdout.write(
                        f"Phones on this network open {os.environ['PUBLIC_BASE_URL']}/ "
                        "(the display board's QR code points there)."
                    )
                if key is not None:
                    # The README's aws CLI and boto3 examples read these three.
                    self.stdout.write(
                        f"AWS_ACCESS_KEY_ID={key.access_key_id} "
                        f"AWS_SECRET_ACCESS_KEY={key.secret_access_key} "
                        f"AWS_ENDPOINT_URL_SFN=http://{address}:{port}/sfn/"
                    )
            redis_process = self._supervise(redis_process)
        finally:
            self._stop_children()
            # Last, so a worker's warm shutdown can still ack its tasks.
            if redis_process is not None:
                _stop([redis_process])

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._stopping.set()

    def _start_children(self, host: str, port: int) -> None:
        python = sys.executable
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        commands = {
            # The production shape (serverlesspresso.asgi): uvicorn workers under gunicorn, which
            # starts a dead worker again; live streams wait on each worker's event loop, every
            # other request runs in its pool of WEB_REQUEST_THREADS threads.
            "web": [
                python, "-m", "gunicorn", "serverlesspresso.asgi",
                "--bind", bind, "--workers", str(settings.WEB_PROCESSES),
                "--worker-class", "uvicorn_worker.UvicornWorker",
                "--graceful-timeout", str(GRACEFUL_SECONDS), "--access-logfile", "-",
            ],
            # Without gossip and mingle (worker-to-worker chatter nothing here uses): their
            # restart after a lost broker connection is where kombu's AttributeErrors come from.
            "worker": [
                python, "-m", "celery", "-A", "serverlesspresso", "worker",
                "-l", "info", "--concurrency", "2", "--without-gossip", "--without-mingle",
            ],
            # Only the Task states' queue, under its own node name (its own heartbeat); its
            # tasks run under the settings' time limits (CELERY_TASK_TIME_LIMIT).
            "tasks-worker": [
                python, "-m", "celery", "-A", "serverlesspresso", "worker",
                "-Q", settings.STEPFUNCTIONS_TASK_QUEUE, "-n", "tasks@%h",
                "-l", "info", "--concurrency", str(settings.TASKS_WORKER_CONCURRENCY),
                "--without-gossip", "--without-mingle",
            ],
            # The schedule file goes where CELERY_BEAT_SCHEDULE_FILENAME says (var/).
            "beat": [python, "-m", "celery", "-A", "serverlesspresso", "beat", "-l", "info"],
        }  # fmt: skip
        self._commands = commands
        self._width = max(map(len, commands))
        for name in commands:
            if self._stopping.is_set():
                return
            self._spawn(name)

    def _spawn(self, name: str) -> None:
        # Piped output is block-buffered; unbuffered, a child's lines reach the terminal at once.
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        child = subprocess.Popen(
            self._commands[name],
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Its own process group: Ctrl-C reaches only runsystem, which stops the children
            # in order, and a kill of the group also takes the worker's pool processes.
            process_group=0,
        )
        self._children[name] = child
        reader = threading.Thread(
            target=self._relay, args=(f"{name:<{self._width}} | ", child.stdout), daemon=True
        )
        reader.start()
        self._readers.append(reader)

    def _say(self, line: str) -> None:
        with self._output_lock:
            self.stdout.write(line)
            self.stdout.flush()

    def _relay(self, prefix: str, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode(errors="replace").rstrip("\r\n")
            with self._output_lock:
                self.stdout.write(prefix + line)
                self.stdout.flush()

    def _supervise(self, redis_process: subprocess.Popen | None) -> subprocess.Popen | None:
        """Blocks until a signal, starting again any child that exits (after a backoff that
        grows while it keeps dying). Returns the embedded Redis process as it is by then."""
        started = {name: time.monotonic() for name in self._children}
        delays: dict[str, float] = {}
        due: dict[str, float] = {}  # when each dead child starts again
        while not self._stopping.wait(0.2):
            now = time.monotonic()
            if redis_process is not None and redis_process.poll() is not None:
                redis_process = self._redis_restart(redis_process)
            for name, child in list(self._children.items()):
                if name in due:
                    if now >= due[name]:
                        del due[name]
                        self._spawn(name)
                        started[name] = now
                        self._say(f"runsystem: {name} started again")
                    continue
                if child.poll() is None:
                    continue
                # A killed worker's pool processes are orphans in its group: end them too.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                stable = now - started[name] >= RESTART_STABLE_SECONDS
                delay = RESTART_FIRST_SECONDS if stable or name not in delays else delays[name] * 2
                delays[name] = min(delay, RESTART_MAX_SECONDS)
                due[name] = now + delays[name]
                self._say(f"runsystem: {name} exited with code {child.returncode}; "
                          f"starting it again in {delays[name]:g} s")  # fmt: skip
        return redis_process

    def _redis_restart(self, dead: subprocess.Popen) -> subprocess.Popen | None:
        """The embedded Redis again, on the same socket; None once another server answers there
        (not ours to watch)."""
        self._say(f"runsystem: the embedded redis exited ({dead.returncode}); starting it again")
        try:
            return embedded_redis.start(Path(settings.REDIS_URL.removeprefix("unix://")))
        except RuntimeError as error:
            self._say(f"runsystem: {error}; trying again")
            self._stopping.wait(RESTART_FIRST_SECONDS)
            return dead

    def _stop_children(self) -> None:
        # Pool processes orphaned by a killed worker would otherwise keep the broker connection.
        _stop(list(self._children.values()), group=True)
        for reader in self._readers:
            reader.join(timeout=2)


def _stop(processes: list[subprocess.Popen], *, group: bool = False) -> None:
    """SIGTERM to all at once, so the wait is the slowest one's, not the sum; SIGKILL (the whole
    process group if `group`) to whatever outlives the grace."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + KILL_AFTER_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
