"""Why a workbook package cannot be read or written headless."""
from __future__ import annotations

from ..core.errors import BusyError, FollowupError


class WorkbookError(FollowupError):
    """The workbook cannot be read or written headless."""


class WorkbookOpenInExcelError(WorkbookError, BusyError):
    """An Excel owner file ``~$<name>`` exists: the workbook is open in Excel."""


class NotAWorkbookError(WorkbookError):
    """The file is not an xlsx/xlsm zip package."""


class UnsafePackageError(WorkbookError):
    """A part is suspiciously large, compressed too well, or uses a DTD."""
