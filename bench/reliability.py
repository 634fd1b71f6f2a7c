"""Fault injection against the file-level promises (docs/reliability.md), each scenario returning a tally.

- ``kill_trials``: a ``followup`` process (refresh, log, export) killed with SIGKILL at a random moment; after
  each kill the workbook, every backup and the output must be whole zip packages that open, and nothing else
  may be left in the folder (stray).
- ``concurrent_logs``: N ``followup log`` started at once on one workbook; every one that exits 0 must have
  its touch in the file (lost), the others must have been refused as busy.
- ``saves_during_refresh``: "another program" (Excel saving: a whole new file renamed over the workbook)
  saves at a random moment of a ``followup refresh``; its change must be in the workbook afterwards
  (overwritten), and followup's result, when it was refused, beside it.
- ``disk_full``: refresh and export on a small tmpfs filled up (root only; otherwise the reason is returned).

``python -m bench --reliability`` runs them with full counts; tests/test_reliability.py with small ones.
"""
from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2026-11-23"
MARKER = "SAVED-BY-ANOTHER-PROGRAM"


@dataclass
class Tally:
    scenario: str
    tries: int = 0
    corrupt: int = 0      # workbook or output not a whole package that opens
    lost: int = 0         # a change reported as done that is not in the file
    stray: int = 0        # files left that are neither the workbook, its backups, its lock nor a whole output
    bad_backups: int = 0  # backups that are not whole packages
    notes: list[str] = field(default_factory=list)

    def row(self) -> dict:
        return {"scenario": self.scenario, "tries": self.tries, "corrupt": self.corrupt, "lost": self.lost,
                "stray": self.stray, "bad_backups": self.bad_backups, "notes": "; ".join(self.notes[:3])}


# --- running followup --------------------------------------------------------------------------------
def followup(*args: object) -> list[str]:
    return [sys.executable, "-c", "from pyxl.cli import main; main()", *map(str, args)]


def env() -> dict[str, str]:
    out = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    out.setdefault("FOLLOWUP_LOCK_TIMEOUT", "900")
    return out


def run(*args: object, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(followup(*args), env=env(), capture_output=True, text=True, timeout=timeout)


def make_book(path: Path, customers: int = 80) -> Path:
    import datetime as dt
    from pyxl.demo import make_demo
    make_demo(path, customers=customers, today=dt.date.fromisoformat(TODAY))
    return path


def a_customer_id(book: Path) -> str:
    from pyxl import actions
    from pyxl.book.xlsx import WorkbookPackage
    ids = actions.load(WorkbookPackage.open(book)).ledger["customer_id"].dropna()
    return str(ids.iloc[0])


# --- what is on disk ----------------------------------------------------------------------------------
def opens(path: Path) -> bool:
    """A whole zip package whose tables read (the workbook, a backup or a manager copy)."""
    from pyxl.book import layout as L
    from pyxl.book.xlsx import WorkbookPackage
    try:
        with zipfile.ZipFile(path) as z:
            if z.testzip() is not None:
                return False
        WorkbookPackage.open(path).read_table(L.T_CUSTOMERS)
        return True
    except Exception:  # noqa: BLE001 - any failure to open is the finding
        return False


def backups(book: Path) -> list[Path]:
    pattern = re.compile(rf"{re.escape(book.name)}(\.\d+)?\.bak")
    return [p for p in book.parent.iterdir() if pattern.fullmatch(p.name)]


def strays(book: Path, outputs: tuple[Path, ...] = ()) -> list[str]:
    """Files beside the workbook that are none of: it, its backups, its lock file, the outputs."""
    from pyxl.files import lock_path
    known = {book, lock_path(book), *backups(book), *outputs}
    return sorted(p.name for p in book.parent.iterdir() if p not in known)


def touches(book: Path, note_prefix: str) -> set[str]:
    from pyxl import actions
    from pyxl.book.xlsx import WorkbookPackage
    notes = actions.load(WorkbookPackage.open(book)).log["notes"].dropna().astype(str)
    return {n for n in notes if n.startswith(note_prefix)}


# --- scenarios ----------------------------------------------------------------------------------------
_DURATIONS: dict[tuple[str, int], float] = {}


def duration(*args: object) -> float:
    """Seconds one uninterrupted ``followup`` run takes (measured once per command and workbook size)."""
    key = (str(args[0]), Path(args[1]).stat().st_size >> 16)
    if key not in _DURATIONS:
        start = time.perf_counter()
        done = run(*args)
        if done.returncode not in (0, 1):
            raise RuntimeError(done.stderr)
        _DURATIONS[key] = time.perf_counter() - start
    return _DURATIONS[key]


def kill_trials(book: Path, command: str, tries: int, seed: int = 0) -> Tally:
    """Kill ``followup <command>`` at a random moment of its second half (the first is mostly Python
    starting up), ``tries`` times in a row on the same workbook."""
    rng, tally = random.Random(seed), Tally(f"kill -9 during {command}", tries)
    out = book.with_name("copy.xlsx")
    args = {"refresh": ("refresh", book, "--today", TODAY),
            "log": ("log", book, "--id", a_customer_id(book), "--reached", "no", "--today", TODAY),
            "export": ("export", book, "-o", out, "--force")}[command]
    whole = duration(*args)
    for _ in range(tries):
        proc = subprocess.Popen(followup(*args), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.4, 1.0) * whole)
        proc.kill()
        proc.wait()
        tally.corrupt += not opens(book) or (out.exists() and not opens(out))
        tally.bad_backups += sum(not opens(b) for b in backups(book))
        left = strays(book, (out,))
        tally.stray += len(left)
        tally.notes += left
    return tally


def concurrent_logs(book: Path, writers: int) -> Tally:
    """``writers`` ``followup log`` at once, each with its own note; a touch reported as logged must be there."""
    tally, who = Tally(f"{writers} concurrent log", writers), a_customer_id(book)
    procs = [subprocess.Popen(followup("log", book, "--id", who, "--reached", "no", "--note", f"touch-{i}",
                                       "--today", TODAY), env=env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(writers)]
    codes = [p.wait() for p in procs]
    found = touches(book, "touch-")
    reported = {f"touch-{i}" for i, code in enumerate(codes) if code == 0}
    tally.lost = len(reported - found)
    tally.corrupt += not opens(book)
    if any(code not in (0, 3) for code in codes):
        tally.notes.append(f"exit codes {sorted(set(codes))}")
    tally.stray = len(strays(book))
    return tally


def their_save(book: Path) -> Path:
    """The workbook as another program would save it: a typed cell changed (a ledger name), nothing else."""
    from pyxl import actions
    from pyxl.book import layout as L
    from pyxl.book.xlsx import WorkbookPackage
    pkg = WorkbookPackage.open(book)
    header = actions.load(pkg).ledger_headers.header_of("name")
    theirs = book.with_name("theirs.tmp.xlsm")
    first = int(pkg.read_table(L.T_CUSTOMERS).index[0])
    pkg.set_column_values(L.T_CUSTOMERS, header, {first: MARKER})
    pkg.save(theirs, backup=False)
    return theirs


def has_marker(book: Path) -> bool:
    from pyxl import actions
    from pyxl.book.xlsx import WorkbookPackage
    return MARKER in set(actions.load(WorkbookPackage.open(book)).ledger["name"].astype(str))


def saves_during_refresh(book: Path, tries: int, seed: int = 0) -> Tally:
    """Another program saves (whole file renamed over the workbook, as Excel does) at a random moment of a
    refresh; lost = its change is not in the workbook afterwards."""
    rng, tally = random.Random(seed), Tally("another program saves during refresh", tries)
    original = book.read_bytes()
    whole = duration("refresh", book, "--today", TODAY)
    for _ in range(tries):
        book.write_bytes(original)
        for old in book.parent.glob(f"{book.stem}.followup-*"):
            old.unlink()
        staged = their_save(book)
        proc = subprocess.Popen(followup("refresh", book, "--today", TODAY), env=env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.3, 1.0) * whole)
        os.replace(staged, book)
        _, err = proc.communicate()
        tally.lost += not has_marker(book)
        tally.corrupt += not opens(book)
        beside = list(book.parent.glob(f"{book.stem}.followup-*"))
        if proc.returncode == 2 and not (beside and opens(beside[0])):
            tally.notes.append(f"refused without a whole result beside it: {err.strip()[:120]}")
            tally.lost += 1
        tally.stray += len(strays(book, tuple(beside)))
    return tally


def disk_full(book: Path, tries: int = 1) -> Tally | str:
    """Refresh and export on a tmpfs with too little room left: exit 2, one message, the workbook intact,
    nothing half-written. Needs root (mount); returns the reason when it cannot run."""
    if os.name != "posix" or os.geteuid() != 0:
        return "disk-full scenario skipped: needs root to mount a small tmpfs"
    mount = Path(tempfile.mkdtemp(prefix="followup-full-"))
    size = book.stat().st_size
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={3 * size + (1 << 20)}", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        mount.rmdir()
        return "disk-full scenario skipped: mounting a tmpfs was refused (a container without CAP_SYS_ADMIN?)"
    tally = Tally("disk full (tmpfs)", 0)
    try:
        target = Path(shutil.copy(book, mount / book.name))
        original = target.read_bytes()
        free = shutil.disk_usage(mount).free
        with open(mount / "filler", "wb") as fh:
            fh.write(b"\0" * max(0, free - size // 2))
        for args in [("refresh", target, "--today", TODAY), ("export", target, "-o", mount / "copy.xlsx")] * tries:
            tally.tries += 1
            done = run(*args)
            one_message = done.returncode == 2 and "Traceback" not in done.stderr
            tally.corrupt += target.read_bytes() != original or not one_message
            tally.stray += len(strays(target, (mount / "filler",)))
            tally.bad_backups += sum(not opens(b) for b in backups(target))
            if not one_message:
                tally.notes.append(f"exit {done.returncode}: {done.stderr.strip()[-160:]}")
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)
        mount.rmdir()
    return tally


def run_all(folder: Path, customers: int, tries: int, writers: int,
            report: Callable[[dict], None] = lambda row: None) -> list[dict]:
    """Every scenario at the given counts, each on a fresh workbook of ``customers``; ``report`` is given each
    scenario's row as soon as it is done."""
    source = make_book(folder / "source.xlsm", customers)
    rows = []
    scenarios = [("kill-refresh", lambda b: kill_trials(b, "refresh", tries)),
                 ("kill-log", lambda b: kill_trials(b, "log", tries, seed=1)),
                 ("kill-export", lambda b: kill_trials(b, "export", tries, seed=2)),
                 ("concurrent-log", lambda b: concurrent_logs(b, writers)),
                 ("save-during-refresh", lambda b: saves_during_refresh(b, tries, seed=3)),
                 ("disk-full", lambda b: disk_full(b))]
    for name, scenario in scenarios:
        (folder / name).mkdir()
        result = scenario(Path(shutil.copy(source, folder / name / "book.xlsm")))
        rows.append(result.row() if isinstance(result, Tally) else {"scenario": name, "skipped": result})
        report(rows[-1])
    return rows
