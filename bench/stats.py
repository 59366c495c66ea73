"""The benchmark's arithmetic: percentiles, the peak of a sweep, ratios and a memory slope, and the
figures of a run computed from what its clients recorded and what its processes spent (no
measuring here, so all of it is tested without a system)."""

import math
import os
from collections.abc import Sequence

from bench.clients import ABANDONED


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (`fraction` 0.99 is p99): a value that was measured, never an
    interpolation between two; None for no values."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], not {fraction}")
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def summary_ms(seconds: Sequence[float]) -> dict:
    """Count, p50, p99 and max of durations given in seconds, in milliseconds."""

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 1)

    return {
        "count": len(seconds),
        "p50_ms": ms(percentile(seconds, 0.50)),
        "p99_ms": ms(percentile(seconds, 0.99)),
        "max_ms": ms(max(seconds) if seconds else None),
    }


def sweep_peak(rates: dict[int, float]) -> tuple[int, float]:
    """The client count with the highest rate, and that rate (the first such count on a tie)."""
    if not rates:
        raise ValueError("no rates measured")
    clients = max(sorted(rates), key=lambda count: rates[count])
    return clients, rates[clients]


def ratio(value: float | None, reference: float | None) -> float | None:
    """value / reference to three places; None when either is missing or the reference is 0."""
    if value is None or not reference:
        return None
    return round(value / reference, 3)


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """The least-squares slope of y over x; None with fewer than two distinct x."""
    if len({x for x, _ in points}) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in points)
    variance = sum((x - mean_x) ** 2 for x, _ in points)
    return covariance / variance


def cpu_spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds by label between two readings (bench.meters.children_cpu)."""
    return {label: after[label] - before.get(label, 0.0) for label in after}


def proc_stat_busy(text: str, ticks_per_second: int) -> float:
    """Busy CPU seconds of all cores from /proc/stat's text: its first line's user, nice, system,
    irq, softirq and steal ticks (idle and iowait are not work; guest time is in user already)."""
    fields = text.splitlines()[0].split()
    if fields[0] != "cpu":
        raise ValueError(f"not /proc/stat's first line: {fields[:1]}")
    ticks = [int(value) for value in fields[1:]] + [0] * 8
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks[:8]
    return (user + nice + system + irq + softirq + steal) / ticks_per_second


def server_cpu_ms(busy_before: float, busy_after: float, not_server_s: float, lifecycles: int,
                  ) -> float | None:  # fmt: skip
    """The server's CPU ms per lifecycle: the machine's busy CPU seconds over a window less what
    was not the server's (the client processes' and the benchmark's own CPU over the same
    window, and whatever else is subtracted), per lifecycle completed. None when none completed,
    or when what is subtracted exceeds the whole by more than readings a tick apart can (5%):
    then the machine was busier with others before than during, and the difference says
    nothing. Never below 0."""
    busy = busy_after - busy_before
    if not lifecycles or busy - not_server_s < -0.05 * busy - 0.02:
        return None
    return round(max(busy - not_server_s, 0.0) * 1000 / lifecycles, 1)


def level_figures(run: dict) -> dict:
    """Lifecycles/s counted over the window after its ramp (while the clients' first lifecycles
    are in flight; a lifecycle takes seconds under load), and the clients' own view."""
    end = run["go"] + run["duration"]
    counted_from = run["go"] + run.get("ramp", run["duration"] / 4)
    ok = [r for r in run["records"] if not r[3]]
    done = [r for r in ok if counted_from < r[2] <= end]
    errors = [r[3] for r in run["records"] if r[3] and r[3] != ABANDONED]
    return {
        "lifecycles/s": round(len(done) / (end - counted_from), 2),
        "whole lifecycles completed/s": round(len(done) / (end - counted_from), 2),
        "completed in window": len(done),
        "lifecycles run": len(run["records"]),
        "abandoned at the end": sum(1 for r in run["records"] if r[3] == ABANDONED),
        "window s": round(run["duration"], 1),
        "counted from s": round(counted_from - run["go"], 1),
        "errors": len(errors),
        "first error": errors[0] if errors else None,
        "throttled": run["throttled"],
        "client lifecycle": summary_ms([r[2] - r[1] for r in ok]),
    }


def cpu_figures(run: dict, spent: dict[str, float], machine: dict | None = None) -> dict:
    """What a level cost in CPU: the client processes' own (boto3 signing, sending, parsing and
    polling) and each of runsystem's children's, per lifecycle the clients completed and per API
    call; the engine's alone (worker and beat); and, given the `machine`'s readings over the
    same window ("busy before s", "busy after s", "driver s": this process's CPU, "postgresql
    s": the database's backends), the server's whole (server_cpu_ms: web, worker, beat,
    PostgreSQL and Redis together, and whatever else ran on the machine) beside the sum of its
    processes' own. CPU time, unlike wall-clock time, is little changed by the machine's other load; the
    clients' figure says how many lifecycles/s this machine's cores could drive with nothing
    else running, the ceiling of any figure over HTTP with the clients on the same cores."""
    completed = sum(1 for r in run["records"] if not r[3])
    calls = sum(run.get("calls", {}).values())
    if not completed or not calls:
        return {}
    client_ms = run["client cpu s"] * 1000 / completed
    cores = os.cpu_count() or 1
    return {
        "lifecycles completed": completed,
        "API calls per lifecycle": round(calls / completed, 2),
        "API calls per lifecycle, by operation": {
            method: round(count / completed, 2) for method, count in sorted(run["calls"].items())
        },
        "client CPU ms per lifecycle": round(client_ms, 1),
        "client CPU ms per API call": round(run["client cpu s"] * 1000 / calls, 2),
        f"clients alone at most, lifecycles/s on {cores} cores": round(cores * 1000 / client_ms, 1),
        "server CPU ms per lifecycle": {
            label: round(seconds * 1000 / completed, 1) for label, seconds in spent.items()
        },
        "web CPU ms per API call": round(spent.get("web", 0.0) * 1000 / calls, 2),
        "engine CPU ms per lifecycle": round(
            (spent.get("worker", 0.0) + spent.get("beat", 0.0)) * 1000 / completed, 1
        ),
        **(_machine_figures(run, spent, machine, completed) if machine else {}),
    }


def _machine_figures(run: dict, spent: dict[str, float], machine: dict, completed: int) -> dict:
    own = sum(spent.values()) + machine.get("postgresql s", 0.0)
    not_server = run["client cpu s"] + machine.get("driver s", 0.0)
    figures = {
        "server CPU ms per lifecycle (machine less clients)": server_cpu_ms(
            machine["busy before s"], machine["busy after s"], not_server, completed
        ),
        "server processes' own CPU ms per lifecycle": round(own * 1000 / completed, 1),
    }
    at_rest = machine.get("busy cores at rest before")
    if at_rest is not None and "window s" in machine:
        # On a shared machine: less what was being spent before the level, had it gone on.
        figures["busy cores at rest before"] = round(at_rest, 2)
        figures["server CPU ms per lifecycle (less clients and the load at rest)"] = (
            server_cpu_ms(machine["busy before s"], machine["busy after s"],
                          not_server + at_rest * machine["window s"], completed)
        )  # fmt: skip
    return figures


def client_yardstick(sweep: dict) -> dict:
    """The boto3 clients' own CPU per lifecycle at the level with the most lifecycles completed
    (the steadiest figure), and the rate it allows: the clients alone, on all of the machine's
    cores, with no server running, could drive no more lifecycles/s than that."""
    measured = [(f["cpu"]["lifecycles completed"], f["cpu"]) for f in sweep.values() if f["cpu"]]
    if not measured:
        return {}
    _, cpu = max(measured, key=lambda pair: pair[0])
    cores = os.cpu_count() or 1
    ceiling = cpu[f"clients alone at most, lifecycles/s on {cores} cores"]
    return {
        "client CPU ms per lifecycle": cpu["client CPU ms per lifecycle"],
        "API calls per lifecycle": cpu["API calls per lifecycle"],
        "clients alone at most, lifecycles/s": ceiling,
        "cores": cores,
        "says": f"boto3 client CPU per lifecycle: {cpu['client CPU ms per lifecycle']} ms "
        f"({cpu['API calls per lifecycle']} API calls) -> at most {ceiling} lifecycles/s on "
        f"this machine's {cores} cores for the clients alone",
    }


def memory_figures(samples: list[tuple[float, dict[str, float]]], runs: list[list], first: float,
                   ) -> dict:  # fmt: skip
    """RSS by child (MemorySampler's `samples`) from `first` on, against the lifecycles of `runs`
    (each a ClientPool.run's records) completed by each sample."""
    ends = sorted(r[2] for run in runs for r in run if not r[3])
    series: dict[str, list[tuple[int, float]]] = {}
    for at, sample in samples:
        if at < first:
            continue
        done = sum(1 for end in ends if end <= at)
        for label, mib in sample.items():
            series.setdefault(label, []).append((done, mib))
    figures = {}
    for label, points in series.items():
        if not points:
            continue
        per_order = slope(points)
        start, last = points[0][1], points[-1][1]
        figures[label] = {
            "MiB at first order": round(start, 1),
            "MiB at last": round(last, 1),
            "MiB max": round(max(m for _, m in points), 1),
            "change": ratio(last - start, start),
            "MiB per 1,000 orders (slope)": round(per_order * 1000, 2) if per_order else None,
        }
    return {"orders": len(ends), "samples": len(samples), "by child": figures}
