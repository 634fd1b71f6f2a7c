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


class WorkbookBusyError(WorkbookError, BusyError):
    """Another followup command holds the workbook's lock file past the timeout."""


class ChangedOnDiskError(WorkbookError):
    """Another program saved the workbook between our read and our replace; our result was put beside it."""

    def __init__(self, message: str, result: str) -> None:
        super().__init__(message)
        self.result = result


class ReadOnlyError(WorkbookError):
    """The file to replace is read-only."""


class WriteFailedError(WorkbookError):
    """The disk refused a write (full, permission, missing folder); nothing was left half-written."""


class OutputRefusedError(WorkbookError):
    """An output path names an input of the command, or an existing file without --force."""


class DamagedPackageError(NotAWorkbookError):
    """The zip is damaged or hostile: corrupt data, duplicate entries, a DTD, odd compression, missing parts."""
