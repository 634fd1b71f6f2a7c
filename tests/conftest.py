"""Shared fixtures: real workbooks built by the product's own builder, copied per test."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from pyxl.build.workbook import build_workbook
from pyxl.demo import make_demo

TODAY = dt.date(2026, 11, 23)  # a Monday


@pytest.fixture(scope="session")
def built_workbook(tmp_path_factory) -> Path:
    return build_workbook(tmp_path_factory.mktemp("built") / "followup.xlsm")


@pytest.fixture
def empty_book(built_workbook: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(built_workbook, tmp_path / "book.xlsm"))


@pytest.fixture(scope="session")
def demo_workbook(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.xlsm"
    make_demo(path, customers=80, today=TODAY)
    return path


@pytest.fixture
def demo_book(demo_workbook: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(demo_workbook, tmp_path / "demo.xlsm"))
