"""The one family of errors the tool raises on purpose, and the exit code each means.

Every door catches ``FollowupError`` in one place: the CLI prints the message and exits with
``exit_code``; the ribbon shows the message in an alert. Anything else is a bug (exit ``INTERNAL``).
"""
from __future__ import annotations

DONE = 0          # the command did what it says
CHECK_ERRORS = 1  # it ran, and the checks found errors in the workbook
REFUSED = 2       # bad input or a file it will not touch; nothing was written
BUSY = 3          # another writer holds the workbook; nothing was written
INTERNAL = 4      # a bug: a short report was written, nothing was written to the workbook


class FollowupError(Exception):
    """The tool refuses to go on; the message says why in the workbook's language. Nothing was written."""
    exit_code = REFUSED


class BusyError(FollowupError):
    """Another program holds the workbook (a lock, or Excel has it open)."""
    exit_code = BUSY
