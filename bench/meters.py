"""What the system's processes spend, read from the outside (psutil): the memory, threads and
CPU time of runsystem's children by kind, a thread sampling their memory through a run, and a CPU
meter for a worker, the PostgreSQL backends of one database and this driver. CPU time, unlike
wall-clock time, is little changed by the machine's other load.
"""

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil


def label(process: psutil.Process) -> str:
    """web (HTTP and stream servers), worker, beat, or the child's own name."""
    try:
        line = " ".join(process.cmdline())
    except psutil.Error:
        return "gone"
    if " beat" in line:
        return "beat"
    if " worker" in line and "celery" in line:
        return "worker"
    if any(word in line for word in ("gunicorn", "uvicorn", "daphne", "hypercorn", "asgi", "wsgi")):
        return "web"
    return process.name()


def _by_child(pid: int, measure: Callable[[psutil.Process], float]) -> dict[str, float]:
    """`measure` summed over each of runsystem's children with its own children, by label."""
    totals: dict[str, float] = {}
    try:
        children = psutil.Process(pid).children()
    except psutil.Error:
        return totals
    for child in children:
        name = label(child)
        total = 0.0
        with contextlib.suppress(psutil.Error):
            for process in [child, *child.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += measure(process)
        totals[name] = totals.get(name, 0.0) + total
    return totals


def children_rss(pid: int) -> dict[str, float]:
    """MiB of resident memory of runsystem's children, each with its own children, by label."""
    return _by_child(pid, lambda process: process.memory_info().rss / 2**20)


def children_threads(pid: int) -> dict[str, int]:
    """Threads of runsystem's children, by label (a web process's request pool grows with
    concurrency, and each thread holds a database connection)."""
    return {k: int(v) for k, v in _by_child(pid, lambda p: p.num_threads()).items()}


def cpu_seconds(process: psutil.Process) -> float:
    """CPU seconds (user + system) the process has used so far."""
    times = process.cpu_times()
    return times.user + times.system


def children_cpu(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) used so far by runsystem's children, each with its own
    children, by label. Two readings around a run give what the run cost each kind of process,
    a figure the machine's other load distorts far less than wall-clock time."""
    return _by_child(pid, cpu_seconds)


@dataclass
class MemorySampler:
    """Samples children_rss every `interval` seconds in a thread, with the wall time."""

    pid: int
    interval: float = 1.0
    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), children_rss(self.pid)))
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)


class CpuMeter:
    """CPU seconds (user + system) spent by the processes of a run, by kind, sampled every
    `interval` seconds so a process that exits meanwhile (a PostgreSQL backend whose connection
    closed) keeps what it had spent when last seen. Process CPU time, unlike wall-clock time,
    is barely distorted by other work sharing the machine.

    - driver: this process (the starts and the callbacks);
    - worker: the Celery worker and its pool processes;
    - postgresql: the server's backends connected to `database` (`postgres: ... <database> ...`).

    Redis is shared with whatever else uses the server, so it is not counted.
    """

    def __init__(self, *, worker_pid: int, database: str | None, interval: float = 0.25) -> None:
        self.worker_pid = worker_pid
        self.database = database
        self.interval = interval
        self._seen: dict[tuple[str, int, float], float] = {}  # (kind, pid, created) -> cpu
        self._start: dict[tuple[str, int, float], float] = {}
        self._stop = threading.Event()
        self._own = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _processes(self):
        found = []
        with contextlib.suppress(psutil.Error):
            worker = psutil.Process(self.worker_pid)
            found += [("worker", p) for p in [worker, *worker.children(recursive=True)]]
        if self.database:
            marker = f" {self.database} "
            for process in psutil.process_iter(["name", "cmdline"]):
                cmdline = " ".join(process.info["cmdline"] or [])
                if cmdline.startswith("postgres:") and marker in cmdline:
                    found.append(("postgresql", process))
        return found

    def _sample(self) -> dict:
        sample = {}
        for kind, process in self._processes():
            with contextlib.suppress(psutil.Error):
                sample[(kind, process.pid, process.create_time())] = cpu_seconds(process)
        return sample

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._seen.update(self._sample())
        # The sampling's own CPU is the meter's, not the driver's.
        self._own = time.thread_time()

    def __enter__(self):
        self._start = self._sample()
        self._seen = dict(self._start)
        self._driver_start = cpu_seconds(psutil.Process())
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._seen.update(self._sample())
        self._driver = cpu_seconds(psutil.Process()) - self._driver_start - self._own

    def seconds(self) -> dict[str, float]:
        """CPU seconds by kind over the run (a process started during it counts from zero)."""
        totals = {"driver": self._driver, "worker": 0.0, "postgresql": 0.0}
        for key, cpu in self._seen.items():
            totals[key[0]] += cpu - self._start.get(key, 0.0)
        return totals


def web_pids(pid: int) -> list[int]:
    """The processes serving requests under runsystem `pid`: the web children's own children
    (the server's workers), or the web children themselves when they have none."""
    pids = []
    for child in psutil.Process(pid).children():
        if label(child) == "web":
            workers = child.children()
            pids += [w.pid for w in workers] or [child.pid]
    return pids
