"""The benchmark script runs end to end at a small size (figures are printed, not asserted)."""
from __future__ import annotations

import json
import subprocess
import sys


def test_bench_runs_at_a_small_size(tmp_path):
    out = tmp_path / "results.json"
    run = subprocess.run([sys.executable, "-m", "bench", "--sizes", "200", "--out", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    rows = json.loads(out.read_text())
    assert rows[0]["customers"] == 200
    assert rows[0]["refresh"]["wall_s"] > 0 and rows[0]["openpyxl"]["wall_s"] > 0
    assert rows[0]["round_trips"]["refresh"] > 0
    assert "refresh/baseline" in run.stdout
