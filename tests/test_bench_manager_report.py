"""bench.manager_report runs, with a small day, so it cannot rot: it inserts the day's orders,
the report finds them all, and the whole page answers (timed; the figures are the script's)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_benchmark_runs_on_a_small_day(tmp_path):
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.manager_report", "--orders", "80", "--runs", "2",
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    assert results["database"] == "sqlite"
    assert results["inserted"] == results["orders in the day"] == 80
    assert 1 <= results["quarter hours"] <= 48
    for part in ("compute", "charts", "page"):
        assert results[part]["runs"] == 2 and results[part]["median_ms"] > 0, part
