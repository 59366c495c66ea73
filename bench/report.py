"""How a run reports: its progress lines, the commit and the machine's load, where its JSON goes,
and bench.throughput's results as a table, as Markdown beside other runs, and as a plot.
"""

import json
import os
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import stats, yardsticks
from bench.system import REPO


def say(*parts) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}]", *parts, flush=True)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                          capture_output=True, text=True)  # fmt: skip
    branch = subprocess.run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=REPO,
                            capture_output=True, text=True)  # fmt: skip
    return f"{branch.stdout.strip()}@{done.stdout.strip()}"


def results_write(results: dict, out: Path | None, name: str) -> Path:
    """The results as JSON in `out`, or by default in var/bench/<name>-<date and time>.json;
    the path written."""
    out = out or REPO / "var" / "bench" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    return out


def yardstick_ratios(results: dict) -> dict:
    """The project's peak against each yardstick."""
    peak = results.get("peak", {}).get("lifecycles/s")
    sweep = {str(k): v for k, v in results.get("sweep", {}).items()}
    one_client = sweep.get("1", {}).get("lifecycles/s")
    moto = results.get("moto", {}).get("lambda steps as Pass states", {}).get("lifecycles/s")
    quotas = results.get("step functions quotas") or yardsticks.STEP_FUNCTIONS_QUOTAS
    return {
        "pgbench tps per lifecycle/s": stats.ratio(results.get("pgbench", {}).get("tps"), peak),
        "empty Celery tasks/s per lifecycle/s": stats.ratio(
            results.get("celery empty task", {}).get("tasks/s"), peak
        ),
        "1 client's lifecycles/s vs moto's (1 client)": stats.ratio(one_client, moto),
        "StartExecution/s vs the 300/s quota": stats.ratio(peak, quotas["StartExecution refill/s"]),
        "SendTaskSuccess/s vs the 500/s quota": stats.ratio(
            peak and 2 * peak, quotas["SendTaskSuccess refill/s"]
        ),
    }


def table(results: dict) -> str:
    rows = table_rows(results)
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def markdown(runs: list[dict]) -> str:
    """The runs' tables side by side, as Markdown (docs/PERFORMANCE.md)."""
    columns = [table_rows(run) for run in runs]
    names = [name for name, _ in columns[0]]
    values = [dict(rows) for rows in columns]
    heads = [run.get("label") or run["commit"] for run in runs]
    lines = ["| figure | " + " | ".join(heads) + " |", "|---" * (len(runs) + 1) + "|"]
    for name in names:
        cells = [str(v.get(name, "n/a")).replace("|", "/") for v in values]
        lines.append(f"| {name.strip()} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cpu_cell(cpu: dict | None) -> str:
    if not cpu:
        return ""
    return (f" (CPU: web {cpu['web CPU ms per API call']} ms per API call, boto3 clients "
            f"{cpu['client CPU ms per lifecycle']} ms per lifecycle of "
            f"{cpu['API calls per lifecycle']} calls)")  # fmt: skip


MACHINE_LESS_CLIENTS = "server CPU ms per lifecycle (machine less clients)"
OWN = "server processes' own CPU ms per lifecycle"
LESS_AT_REST = "server CPU ms per lifecycle (less clients and the load at rest)"


def server_cpu_cell(cpu: dict | None) -> str:
    """The server's CPU per lifecycle (the machine's less the clients'), its processes' own, the
    web's per API call and the engine's (worker and beat) per lifecycle."""
    if not cpu:
        return "n/a"
    return (f"{cpu.get(MACHINE_LESS_CLIENTS)} ms (machine less clients; less the load at rest "
            f"too {cpu.get(LESS_AT_REST)} ms, {cpu.get('busy cores at rest before')} cores at "
            f"rest; its processes' own {cpu.get(OWN)} ms), web "
            f"{cpu.get('web CPU ms per API call')} ms per API call, engine "
            f"{cpu.get('engine CPU ms per lifecycle')} ms per lifecycle")  # fmt: skip


def localstack_rows(localstack: dict) -> list[tuple[str, str]]:
    if not localstack:
        return []
    if "skipped" in localstack:
        return [("LocalStack", f"skipped: {localstack['skipped']}")]
    rows = [("LocalStack, same clients", str(localstack.get("server", "")))]
    for clients, figures in localstack.get("sweep", {}).items():
        rows.append((f"  LocalStack {clients} clients",
                     f"{figures['lifecycles/s']} lifecycles/s, callback-to-next-wait p99 "
                     f"{figures['server']['p99_ms']} ms, errors {figures['errors']}; server CPU "
                     f"{figures['cpu'].get('server CPU ms per lifecycle')} ms per lifecycle "
                     f"(machine less clients {figures['cpu'].get(MACHINE_LESS_CLIENTS)} ms, "
                     f"less the load at rest too {figures['cpu'].get(LESS_AT_REST)} ms)"))  # fmt: skip
    return rows


def table_rows(results: dict) -> list[tuple[str, str]]:
    def get(*path):
        value = results
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return "n/a"
            value = value[key]
        return value

    rows = [
        ("run", f"{get('date')}, {get('commit')}, {get('mode')}, {get('seconds')} s"),
        ("lifecycles/s over HTTP, by clients", ""),
    ]
    for clients, figures in get("sweep").items() if isinstance(get("sweep"), dict) else []:
        rows.append((f"  {clients} clients", f"{figures['lifecycles/s']} lifecycles/s "
                     f"({figures['whole lifecycles completed/s']} whole/s) "
                     f"(callback-to-next-wait p99 {figures['server']['p99_ms']} ms, "
                     f"errors {figures['errors']}, throttled {figures['throttled']})"
                     + _cpu_cell(figures.get("cpu"))))  # fmt: skip
        rows.append((f"    {clients} clients: server CPU per lifecycle",
                     server_cpu_cell(figures.get("cpu"))))  # fmt: skip
    rows += [
        ("peak", f"{get('peak', 'lifecycles/s')} lifecycles/s at {get('peak', 'clients')} clients"),
        ("boto3 clients' own CPU (the clients' ceiling)", f"{get('client yardstick', 'says')}"),
        ("32 / 64 clients vs peak", f"{get('at 32 / peak')} / {get('at 64 / peak')}"),
        ("callback to next wait, half peak: p50 / p99",
         f"{get('half peak', 'callback to next wait or end', 'p50_ms')} / "
         f"{get('half peak', 'callback to next wait or end', 'p99_ms')} ms "
         f"({get('half peak', 'lifecycles/s')} lifecycles/s)"),
        ("callback to next wait, idle: p50 / p99",
         f"{get('idle', 'callback to next wait or end', 'p50_ms')} / "
         f"{get('idle', 'callback to next wait or end', 'p99_ms')} ms"),
        (f"{get('timeouts', 'tokens')} tokens due at once: timed out / all within / p99 late",
         f"{get('timeouts', 'timed out')} / {get('timeouts', 'all timed out within s')} s / "
         f"{get('timeouts', 'lateness p99 s')} s"),
        ("  their executions ended (Catch path) / p99 after deadline",
         f"{get('timeouts', 'executions ended (Catch path run)')} / "
         f"{get('timeouts', 'ended p99 after the deadline s')} s"),
    ]  # fmt: skip
    tick = get("sweep tick")
    if isinstance(tick, dict):
        for name, figure in tick.get("none due", {}).items():
            rows.append((f"{name}, {tick['waiting']:,} waiting, none due",
                         f"{figure.get('median ms', figure.get('error'))} ms (median of 5)"))  # fmt: skip
        for key in [k for k in tick if k.endswith(" due") and k != "none due"]:
            for name, figure in tick[key].items():
                rows.append((f"{name}, {key}", f"{figure.get('ms', figure.get('error'))} ms"))
    memory = get("memory")
    if isinstance(memory, dict):
        for label, figure in memory["by child"].items():
            rows.append((f"memory {label}: first order -> last, slope",
                         f"{figure['MiB at first order']} -> {figure['MiB at last']} MiB, "
                         f"{figure['MiB per 1,000 orders (slope)']} MiB per 1,000 orders "
                         f"({memory['orders']} orders)"))  # fmt: skip
    rows += [
        ("pgbench -N -c8 -j2", f"{get('pgbench', 'tps')} tps"),
        ("Celery empty task, 2 processes", f"{get('celery empty task', 'tasks/s')} tasks/s"),
        ("moto, seed workflow as is", f"{get('moto', 'seed workflow as is', 'status')}"),
        (
            "moto, Lambda steps as Pass, 1 client",
            f"{get('moto', 'lambda steps as Pass states', 'lifecycles/s')} lifecycles/s "
            f"({get('moto', 'lambda steps as Pass states', 'lifecycles')} run)",
        ),
    ]
    rows += localstack_rows(results.get("localstack", {}))
    for name, value in results.get("ratios", {}).items():
        rows.append((f"ratio: {name}", str(value)))
    rows.append(("load average start / end",
                 f"{get('load average at start')} / {get('load average at end')}"))  # fmt: skip
    return rows


def _series(sweep: dict) -> dict:
    """A sweep's points by client count: lifecycles/s, callback p99, and server CPU per lifecycle:
    the machine's less the clients', and the server's processes' own (ours: runsystem's and the
    database's backends; LocalStack's: its process tree's)."""
    points = {int(k): v for k, v in sweep.items()}
    clients = sorted(points)
    cpu = [points[c].get("cpu") or {} for c in clients]
    return {
        "clients": clients,
        "rate": [points[c]["lifecycles/s"] for c in clients],
        "p99": [points[c]["server"]["p99_ms"] for c in clients],
        "cpu": [figures.get(MACHINE_LESS_CLIENTS) for figures in cpu],
        "own": [figures.get(OWN, figures.get("server CPU ms per lifecycle")) for figures in cpu],
    }


def plot(results: list[dict], path: Path) -> None:
    """Throughput, callback-to-next-wait p99 and the server's CPU per lifecycle against clients,
    one line per run, and one per run's LocalStack yardstick when it ran."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(11, 3.2), dpi=80)
    lines = []
    for run in results:
        label = run.get("label") or run["commit"]
        lines.append((label, _series(run["sweep"]), "o"))
        if run.get("localstack", {}).get("sweep"):
            lines.append((f"LocalStack ({label})", _series(run["localstack"]["sweep"]), "s"))
    for label, series, marker in lines:
        for axis, key in zip(axes, ("rate", "p99", "cpu"), strict=True):
            pairs = [(c, v) for c, v in zip(series["clients"], series[key], strict=True)
                     if v is not None]  # fmt: skip
            drawn = axis.plot([c for c, _ in pairs], [v for _, v in pairs], marker=marker,
                              label=label)  # fmt: skip
        own = [(c, v) for c, v in zip(series["clients"], series["own"], strict=True) if v]
        axes[2].plot([c for c, _ in own], [v for _, v in own], marker=marker, linestyle="--",
                     color=drawn[0].get_color())  # fmt: skip
    titles = ("lifecycles/s", "callback-to-next-wait p99 (ms)",
              "server CPU ms per lifecycle\n(machine less clients; dashed: processes' own)")  # fmt: skip
    ticks = sorted({c for _, series, _ in lines for c in series["clients"]})
    for axis, title in zip(axes, titles, strict=True):
        axis.set_xscale("log", base=2)
        axis.set_xticks(ticks, [str(t) for t in ticks])
        axis.set_xlabel("boto3 clients")
        axis.set_title(title, fontsize=10)
        axis.grid(alpha=0.3)
    axes[1].set_yscale("log")
    axes[2].set_yscale("log")
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
