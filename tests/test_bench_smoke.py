"""The benchmark script runs end to end at a small size (figures are printed, not asserted)."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd


def test_bench_runs_at_a_small_size(tmp_path):
    out = tmp_path / "results.json"
    run = subprocess.run([sys.executable, "-m", "bench", "--cases", "200,200-nolog", "--out", str(out)],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    with_log, without = json.loads(out.read_text())
    assert (with_log["customers"], with_log["log"], without["log"]) == (200, True, False)
    assert without["file_mib"] < with_log["file_mib"]
    for row in (with_log, without):
        assert row["cold"]["wall_s"] > row["warm"]["warm_s"] > 0 and row["floor"]["wall_s"] > 0
        assert 50 < row["cold"]["rss_mib"] < 1024 and row["openpyxl"]["wall_s"] > 0
        assert row["round_trips"]["refresh"] > 0 and row["engine"]["typed_input_s"] > 0
    # each target is printed with its verdict: cold and warm against the floor, round-trips at every size
    verdicts = [line.split()[0] for line in run.stdout.splitlines() if "x floor <= " in line]
    assert len(verdicts) == 4 and set(verdicts) <= {"PASS", "FAIL"}
    assert "round-trips per action the same at every size" in run.stdout
    assert "| 200 (no log) |" in run.stdout


def test_typed_input_what_if_does_the_same_work(tmp_path):
    """The benchmark's "engine on typed input" figure is only worth reading if the engine computes the same
    ledger view and flags from typed columns as from the Python objects the readers hand over."""
    from bench.__main__ import REPEATED_LOG_TEXTS, TODAY, _as_typed, make_workbook
    from pyxl import actions
    from pyxl.book.xlsx import WorkbookPackage
    from pyxl.core import engine
    make_workbook(tmp_path / "b.xlsm", 300)
    inputs = actions.load(WorkbookPackage.open(tmp_path / "b.xlsm"))
    log = _as_typed(inputs.log, REPEATED_LOG_TEXTS)
    assert log["when"].dtype.kind == "M" and isinstance(log["customer_id"].dtype, pd.CategoricalDtype)
    run = lambda ledger, log: engine.refresh(ledger, log, inputs.rules, inputs.settings, TODAY,  # noqa: E731
                                             books=inputs.playbooks)
    as_read, typed = run(inputs.ledger, inputs.log), run(_as_typed(inputs.ledger, ()), log)
    pd.testing.assert_frame_equal(typed.view, as_read.view)
    assert len(as_read.flags) > 0
    # the flagged cell's value is the cell as handed over (a Timestamp instead of a date): the rest is equal
    pd.testing.assert_frame_equal(typed.flags.drop(columns="value"), as_read.flags.drop(columns="value"))
