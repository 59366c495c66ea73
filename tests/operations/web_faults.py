"""The web process as production runs it (serverlesspresso.asgi under gunicorn's uvicorn workers,
production settings, DEBUG off) on the test's PostgreSQL database, and the faults done to it:
backends terminated, the database cut off (bench.stores.DatabaseLink, a TCP proxy the test
closes), a table locked.

Only the test database's own backends are ever terminated or locked: the machine's PostgreSQL is
shared."""

import contextlib
import glob
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import urllib3
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from tests.conftest import sfn_client, wait_for
from tests.system import answers_200, free_port

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "serverlesspresso.settings.production",
    # The test's own key: the sessions it saves are signed with it.
    "DJANGO_SECRET_KEY": settings.SECRET_KEY,
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    # Plain HTTP here: no proxy in front to end TLS.
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "WEB_REQUEST_THREADS": "4",
}
CSRF = "c" * 32


def web_start(processes, *, name: str = "web", host: str = "127.0.0.1") -> str:
    """serverlesspresso.asgi as runsystem serves it (one process) on `host` (0.0.0.0: every
    interface, as `runsystem --lan`); its loopback URL once it answers."""
    port = free_port()
    processes.start(
        name, "-m", "gunicorn", "serverlesspresso.asgi", "--bind", f"{host}:{port}",
        "--workers", "1", "--worker-class", "uvicorn_worker.UvicornWorker",
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_for(
        lambda: processes.alive(name) and answers_200(f"{url}/health/live"),
        timeout=60, interval=0.2, message="the web process",
    )  # fmt: skip
    return url


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]  # any case, as HTTP names them
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def http(
    url: str,
    *,
    method: str = "GET",
    body: dict | None = None,
    cookies: str = "",
    pool: urllib3.PoolManager | None = None,
) -> Answer:
    """One request, on `pool`'s kept-alive connection when given (as a browser keeps one)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Cookie": cookies, "X-CSRFToken": CSRF}
    response = (pool or urllib3.PoolManager()).request(
        method, url, body=data, headers=headers, retries=False, timeout=30
    )
    return Answer(response.status, response.headers, response.data)


def customer_cookies(username: str) -> str:
    """A logged-in customer's session (saved in the test database) and a CSRF cookie."""
    user = get_user_model().objects.create_user(username=username, password="pw-123-cust")
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}; csrftoken={CSRF}"


def boto3_client(url: str, key, **overrides):
    return sfn_client(SimpleNamespace(url=url), key, **overrides)


def backends() -> list[int]:
    """The pids of the test database's client backends, but this test's own connection."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


def backends_terminate() -> int:
    """pg_terminate_backend of every other backend of the test database; how many there were."""
    pids = backends()
    with connection.cursor() as cursor:
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    wait_for(
        lambda: not set(pids) & set(backends()),
        timeout=10, message="the terminated backends gone",
    )  # fmt: skip
    return len(pids)


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb into a temporary directory, run as the
    `postgres` user when the test runs as root), on a free port: the test may restart or stop it.
    The machine's shared PostgreSQL is never touched."""

    # Debian's own binaries (pg_ctl on PATH may be another), the newest version installed.
    BIN = Path(max(glob.glob("/usr/lib/postgresql/*/bin"), default="/usr/bin"))

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="sp-private-pg-"))
        self.data = self.directory / "data"

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=60)

    def _ctl(self, action: str, *options: str) -> None:
        self._run(str(self.BIN / "pg_ctl"), action, "-D", str(self.data), "-w", *options)

    def init(self) -> "PrivatePostgres":
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        self._run(str(self.BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync")  # fmt: skip
        self.start()
        return self

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off"
        self._ctl("start", "-o", options, "-l", str(self.directory / "server.log"))

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def restart(self) -> None:
        """A fast restart, as `pg_ctl restart -m fast` (whose new server would keep this
        process's output pipes open: started again here with its log file instead)."""
        self.stop()
        self.start()

    def copy(self, database: dict) -> str:
        """The test database copied in (schema and rows); its URL."""
        host, port = database.get("HOST") or "127.0.0.1", database.get("PORT") or 5432
        source = f"postgres://{database['USER']}@{host}:{port}/{database['NAME']}"
        target = f"postgres://postgres@127.0.0.1:{self.port}"
        subprocess.run(["psql", f"{target}/postgres", "-qc", "CREATE DATABASE copy"], check=True,
                       capture_output=True, timeout=60)  # fmt: skip
        dump = subprocess.run(["pg_dump", "--no-owner", source], check=True, capture_output=True,
                              timeout=120)  # fmt: skip
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", f"{target}/copy"], input=dump.stdout,
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        return f"{target}/copy"

    def close(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self._ctl("stop", "-m", "immediate")
        shutil.rmtree(self.directory, ignore_errors=True)
