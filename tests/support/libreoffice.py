"""Saving a workbook through real LibreOffice, as a person who opens and saves it in Calc would.

``soffice --headless --convert-to xlsm:"Calc MS Excel 2007 VBA XML"`` keeps the VBA project and the
ribbon but drops sheet codeNames (issue 17, item 2). Each call uses its own user profile (parallel runs
and a running Calc do not clash) and a timeout.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

XLSM_FILTER = "xlsm:Calc MS Excel 2007 VBA XML"
SKIP_REASON = "LibreOffice (soffice) is not installed; .ci/run installs libreoffice-calc-nogui"


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def require_soffice() -> str:
    office = soffice()
    if office is None:
        pytest.skip(SKIP_REASON)
    return office


def soffice_command(profile_dir: Path) -> list[str]:
    """soffice with a private user profile under ``profile_dir``."""
    profile = Path(tempfile.mkdtemp(prefix="lo-profile-", dir=profile_dir))
    return [require_soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore"]


def save_as_libreoffice(path: Path, out: Path, timeout: float = 120) -> Path:
    """Open ``path`` in LibreOffice and save it as ``out`` (.xlsm, VBA kept); returns ``out``."""
    with tempfile.TemporaryDirectory(prefix="lo-save-") as tmp:
        work = Path(tmp)
        run = subprocess.run(soffice_command(work) + ["--convert-to", XLSM_FILTER, "--outdir", str(work / "out"),
                                                      str(path)], capture_output=True, text=True, timeout=timeout)
        saved = work / "out" / (path.stem + ".xlsm")
        if run.returncode or not saved.exists():
            raise RuntimeError(f"LibreOffice did not save {path.name}: {run.returncode} {run.stderr[-300:]}")
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(saved, out)
    return out
