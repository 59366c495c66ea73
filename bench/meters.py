"""What the system's processes spend, read from the outside (psutil, /proc/stat): the memory,
threads and CPU time of runsystem's children by kind, a thread sampling their memory through a
run, a CPU meter for a worker, the PostgreSQL backends of one database and this driver, the CPU of
a whole process tree, and the machine's busy CPU. CPU time, unlike wall-clock time, is little
changed by the machine's other load.
"""

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench import stats


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


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and all of its descendants alive now
    (what a server of several processes, LocalStack's, has spent)."""
    total = 0.0
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += cpu_seconds(process)
    return total


def machine_busy() -> float:
    """The machine's busy CPU seconds so far, all cores (bench.stats.proc_stat_busy of
    /proc/stat): two readings around a window give what every process on it spent."""
    return stats.proc_stat_busy(Path("/proc/stat").read_text(), os.sysconf("SC_CLK_TCK"))


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


class ServerCpu:
    """What a window cost the server, read around it: runsystem's children's CPU by label
    (`spent`; or whatever `measure` reads of the server `pid`), and the `machine`'s readings for
    bench.stats.cpu_figures: its busy CPU before and after (/proc/stat), the window, this
    driver's own CPU, the PostgreSQL backends of `database` (a CpuMeter, so a backend that
    closes meanwhile keeps its share) and, given `baseline` seconds, the busy cores at rest
    just before."""

    def __init__(self, pid: int, database: str | None, baseline: float = 0.0,
                 measure: Callable[[int], dict[str, float]] = children_cpu) -> None:  # fmt: skip
        self.pid = pid
        self.baseline = baseline
        self.measure = measure
        self.meter = CpuMeter(worker_pid=pid, database=database, interval=1.0)
        self.spent: dict[str, float] = {}
        self.machine: dict[str, float] = {}

    def __enter__(self) -> "ServerCpu":
        # The machine's busy cores with the system at rest just before: on a shared machine,
        # what others were spending (and the idle system's own ticking), to set beside it.
        before, started = machine_busy(), time.monotonic()
        time.sleep(self.baseline)
        self._baseline = (machine_busy() - before) / max(time.monotonic() - started, 1e-9)
        self._children = self.measure(self.pid)
        self.meter.__enter__()
        self._driver = cpu_seconds(psutil.Process())
        self._busy, self._started = machine_busy(), time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        busy, window = machine_busy(), time.monotonic() - self._started
        driver = cpu_seconds(psutil.Process()) - self._driver
        self.meter.__exit__(*exc)
        self.spent = stats.cpu_spent(self._children, self.measure(self.pid))
        self.machine = {
            "busy before s": self._busy,
            "busy after s": busy,
            "driver s": driver,
            "postgresql s": self.meter.seconds()["postgresql"],
            "window s": window,
            **({"busy cores at rest before": self._baseline} if self.baseline else {}),
        }
