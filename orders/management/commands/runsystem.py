"""`manage.py runsystem`: the web server, a Celery worker and beat in the foreground, as one unit.

With no REDIS_URL it also runs the embedded Redis on the settings' Unix socket, so a fresh clone
needs nothing but Python. Any child dying takes the others down: a half-running system (a web
server whose stages never run) is worse than none.
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
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from serverlesspresso import embedded_redis
from serverlesspresso.operations.network import lan_address

# gunicorn waits this long for in-flight requests on SIGTERM; runsystem waits a little longer
# for every child before it kills what is left.
GRACEFUL_SECONDS = 10
KILL_AFTER_SECONDS = GRACEFUL_SECONDS + 5


def _development_key():
    # Imported here, once Django is set up by the command.
    from stepfunctions.services.access_keys import access_key_ensure_development

    return access_key_ensure_development()


class Command(BaseCommand):
    help = "Runs the whole system in the foreground: web server, Celery worker and beat."

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
            key = _development_key() if settings.SFN_DEVELOPMENT_KEY else None
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
            failed = self._wait(redis_process)
        finally:
            self._stop_children()
            # Last, so a worker's warm shutdown can still ack its tasks.
            if redis_process is not None:
                _stop([redis_process])
        if failed:
            raise CommandError(failed)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._stopping.set()

    def _start_children(self, host: str, port: int) -> None:
        python = sys.executable
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        commands = {
            "web": [
                python, "-m", "gunicorn", "serverlesspresso.wsgi",
                # Threads, not processes, hold the pages' live streams (server-sent events,
                # LIVE_STREAM_SECONDS each): one thread per open page, plus the requests.
                "--bind", bind, "--worker-class", "gthread", "--threads", "32",
                "--graceful-timeout", str(GRACEFUL_SECONDS), "--access-logfile", "-",
            ],
            "worker": [
                python, "-m", "celery", "-A", "serverlesspresso", "worker",
                "-l", "info", "--concurrency", "2",
            ],
            # The schedule file goes where CELERY_BEAT_SCHEDULE_FILENAME says (var/).
            "beat": [python, "-m", "celery", "-A", "serverlesspresso", "beat", "-l", "info"],
        }  # fmt: skip
        # Piped output is block-buffered; unbuffered, a child's lines reach the terminal at once.
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        width = max(map(len, commands))
        for name, command in commands.items():
            if self._stopping.is_set():
                return
            child = subprocess.Popen(
                command,
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
                target=self._relay, args=(f"{name:<{width}} | ", child.stdout), daemon=True
            )
            reader.start()
            self._readers.append(reader)

    def _relay(self, prefix: str, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode(errors="replace").rstrip("\r\n")
            with self._output_lock:
                self.stdout.write(prefix + line)
                self.stdout.flush()

    def _wait(self, redis_process: subprocess.Popen | None) -> str | None:
        """Blocks until a signal (returns None) or a process's exit (returns why)."""
        watched = dict(self._children)
        if redis_process is not None:
            watched["embedded redis"] = redis_process
        while not self._stopping.wait(0.2):
            for name, process in watched.items():
                if process.poll() is not None:
                    return f"{name} exited with code {process.returncode}; stopped the others."
        return None

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
