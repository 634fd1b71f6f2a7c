"""Writing files safely: the one way to replace a file (temp file in the target folder, fsync, rename, the temp
removed on any failure), the lock that lets one followup command write a workbook at a time, the check that
the file on disk is still the one read, outputs that never name an input, and the backups kept.

Every refusal is a ``WorkbookError`` (``FollowupError``) with a message in the workbook's language."""
from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import re
import secrets
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from filelock import FileLock, Timeout

from .book.errors import OutputRefusedError, ReadOnlyError, WorkbookBusyError, WriteFailedError
from .book.zipio import language_of
from .core.i18n import text

LOCK_TIMEOUT_ENV = "FOLLOWUP_LOCK_TIMEOUT"
LOCK_TIMEOUT_S = 60.0
AT_FDCWD, AT_EMPTY_PATH = -100, 0x1000  # linkat(2)

Writer = Callable[[BinaryIO], None]


def message(lang: str, key: str, **args: object) -> str:
    return text(lang, "files", key, **args)


# --- the one way to write a file -----------------------------------------------------------------
def write_atomic(path: Path, data: bytes | Writer, *, lang: str = "en", mode_of: Path | None = None) -> Path:
    """Replace ``path`` with ``data`` (bytes, or a function writing to a binary file) in one step: readers
    see the old file or the new one, never half. ``mode_of``: the file whose permissions the new one takes."""
    with stage(path, data, lang=lang, mode_of=mode_of) as staged:
        staged.commit(path)
    return path


class Staged:
    """A complete, fsynced new file in the target's folder, not yet in place. Where the OS allows it
    (Linux, O_TMPFILE) it has no name until ``commit``, so even a kill -9 leaves nothing behind; elsewhere it
    is a hidden ``.~NAME.*.tmp`` that a failure removes (and the next writer of a kill, see writer_lock)."""

    def __init__(self, path: Path, lang: str) -> None:
        self.path, self.lang, self.name = path, lang, None
        try:
            self.fd = os.open(path.parent, os.O_TMPFILE | os.O_WRONLY, 0o600)
        except (AttributeError, OSError):  # no O_TMPFILE here: a named hidden temp file
            try:
                self.fd, name = tempfile.mkstemp(prefix=f".~{path.name}.", suffix=".tmp", dir=path.parent)
            except OSError as exc:
                raise _write_failed(path, exc, lang) from None
            self.name = Path(name)

    def write(self, data: bytes | Writer, mode: int) -> None:
        fh = os.fdopen(self.fd, "wb", closefd=False)
        with fh:
            data(fh) if callable(data) else fh.write(data)
            fh.flush()
            os.fsync(self.fd)
        os.chmod(self.name, mode) if self.name is not None else os.fchmod(self.fd, mode)  # no fchmod on Windows

    def commit(self, target: Path) -> None:
        """Put the file at ``target`` (an atomic rename) and make that durable."""
        try:
            if self.name is None:  # give the anonymous file a name, then rename it over the target
                self.name = target.with_name(f".~{target.name}.{secrets.token_hex(6)}.tmp")
                _name_anonymous(self.fd, self.name)
            os.replace(self.name, target)
            self.name = None
        except OSError as exc:
            raise _write_failed(target, exc, self.lang) from None
        _fsync_folder(target.parent)

    def discard(self) -> None:
        os.close(self.fd)
        if self.name is not None:
            self.name.unlink(missing_ok=True)

    def __enter__(self) -> Staged:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def _name_anonymous(fd: int, name: Path) -> None:
    """Link an O_TMPFILE file into its folder: through /proc, else linkat(AT_EMPTY_PATH) (root, or Linux
    allowing it to the file's opener), else a copy (the name then exists for as long as the copy takes)."""
    try:
        return os.link(f"/proc/self/fd/{fd}", name)
    except OSError:
        pass
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.linkat(fd, b"", AT_FDCWD, os.fsencode(name), AT_EMPTY_PATH) == 0:
        return
    out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        size = os.fstat(fd).st_size
        reader = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY)
        try:
            while size > 0:
                size -= os.sendfile(out, reader, None, size) or size
        finally:
            os.close(reader)
        os.fchmod(out, os.fstat(fd).st_mode & 0o777)
        os.fsync(out)
    except BaseException:
        name.unlink(missing_ok=True)
        raise
    finally:
        os.close(out)


def stage(path: Path, data: bytes | Writer, *, lang: str = "en", mode_of: Path | None = None) -> Staged:
    """The new ``path`` written in full beside it (see ``Staged``; use it in a ``with``)."""
    path = Path(path)
    staged = Staged(path, lang)
    try:
        staged.write(data, stat.S_IMODE(os.stat(mode_of).st_mode) if mode_of and mode_of.exists() else 0o644)
    except BaseException as exc:
        staged.discard()
        if isinstance(exc, OSError):
            raise _write_failed(path, exc, lang) from None
        raise
    return staged


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder; its rename is durable enough
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_failed(path: Path, exc: OSError, lang: str) -> WriteFailedError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        reason = message(lang, "disk_full")
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = message(lang, "denied")
    elif exc.errno == errno.ENOENT and not path.parent.is_dir():
        reason = message(lang, "no_folder", folder=path.parent)
    else:
        reason = exc.strerror or str(exc)
    return WriteFailedError(message(lang, "write_failed", path=path, reason=reason))


def refuse_read_only(path: Path, lang: str) -> None:
    """A file nobody may write (no write bit, or not writable for us) is refused, never replaced."""
    if path.exists() and (not stat.S_IMODE(path.stat().st_mode) & 0o222 or not os.access(path, os.W_OK)):
        raise ReadOnlyError(message(lang, "read_only", name=path.name))


# --- is the file on disk still the one read? ----------------------------------------------------------
@dataclass(frozen=True)
class Fingerprint:
    size: int
    mtime_ns: int
    sha256: str

    @classmethod
    def of(cls, raw: bytes, st: os.stat_result) -> Fingerprint:
        return cls(st.st_size, st.st_mtime_ns, hashlib.sha256(raw).hexdigest())

    @classmethod
    def on_disk(cls, path: Path) -> Fingerprint | None:
        try:
            with open(path, "rb") as fh:
                st = os.fstat(fh.fileno())
                return cls(st.st_size, st.st_mtime_ns, hashlib.file_digest(fh, "sha256").hexdigest())
        except FileNotFoundError:
            return None


def conflict_path(path: Path) -> Path:
    """Where our result goes when someone else saved ``path`` meanwhile: ``NAME.followup-N.EXT`` beside it."""
    n = 1
    while (found := path.with_name(f"{path.stem}.followup-{n}{path.suffix}")).exists():
        n += 1
    return found


# --- one writer at a time ------------------------------------------------------------------------------
def lock_path(book: Path) -> Path:
    return book.with_name(f".{book.name}.lock")


def lock_timeout() -> float:
    try:
        return max(0.0, float(os.environ.get(LOCK_TIMEOUT_ENV, LOCK_TIMEOUT_S)))
    except ValueError:
        return LOCK_TIMEOUT_S


@contextmanager
def writer_lock(book: Path, *, on_wait: Callable[[str], None] | None = None,
                timeout: float | None = None) -> Iterator[None]:
    """Hold ``.BOOK.lock`` beside the workbook (an OS lock: fcntl/flock, or Windows' own, also on shares)
    from read to replace. A second writer waits up to ``timeout`` s (default: $FOLLOWUP_LOCK_TIMEOUT, else
    60), telling ``on_wait`` once, then is refused with ``WorkbookBusyError`` having written nothing."""
    book = Path(book)
    timeout = lock_timeout() if timeout is None else timeout
    lock = FileLock(lock_path(book), is_singleton=False)
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            lang = workbook_language(book)
            if on_wait is not None:
                on_wait(message(lang, "busy_wait", name=book.name, lock=lock_path(book).name, seconds=timeout))
            try:
                lock.acquire(timeout=timeout, poll_interval=0.05)
            except Timeout:
                raise WorkbookBusyError(message(lang, "busy", name=book.name, seconds=timeout)) from None
    except OSError as exc:
        raise _write_failed(lock_path(book), exc, workbook_language(book)) from None
    try:
        for stale in book.parent.glob(f".~{glob_escape(book.name)}.*.tmp"):  # a killed writer's, as we hold the lock
            stale.unlink(missing_ok=True)
        yield
    finally:
        lock.release()


def workbook_language(book: Path) -> str:
    """The language of messages about ``book`` before it is read (see ``zipio.language_of``)."""
    try:
        with zipfile.ZipFile(book) as zf:
            return language_of(zf)
    except (OSError, zipfile.BadZipFile):
        return language_of(None)


# --- outputs never name an input ---------------------------------------------------------------------
def refuse_output(out: Path, inputs: Iterable[Path], *, force: bool, lang: str) -> None:
    """An output that is one of the inputs (same file through a symlink, another case, a hard link) is
    refused; an existing output is replaced only with ``force``."""
    out = Path(out)
    for source in inputs:
        if _same_file(out, Path(source)):
            raise OutputRefusedError(message(lang, "same_as_input", out=out, input=source))
    if out.exists() and not force:
        raise OutputRefusedError(message(lang, "exists", out=out))


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.normcase(a.resolve()) == os.path.normcase(b.resolve())


# --- backups -----------------------------------------------------------------------------------------
def backup_paths(book: Path, keep: int) -> list[Path]:
    """The backups of ``book``, newest first: ``BOOK.bak``, then ``BOOK.1.bak`` … ``BOOK.<keep-1>.bak``."""
    return [book.with_name(f"{book.name}.bak")] + [book.with_name(f"{book.name}.{i}.bak") for i in range(1, keep)]


def keep_backup(book: Path, data: bytes, keep: int, *, lang: str) -> None:
    """Write ``data`` (the workbook as it was) as the newest backup, atomically, shifting older ones down and
    dropping those past ``keep``. Every step is a rename or an atomic write: a kill leaves only whole files."""
    if keep <= 0:
        return
    slots = backup_paths(book, keep)
    numbered = re.compile(rf"{re.escape(book.name)}\.(\d+)\.bak")
    for old in book.parent.glob(f"{glob_escape(book.name)}.*.bak"):
        m = numbered.fullmatch(old.name)
        if m and int(m.group(1)) > keep - 1:
            old.unlink(missing_ok=True)
    try:
        for newer, older in zip(reversed(slots[:-1]), reversed(slots[1:])):
            if newer.exists():
                os.replace(newer, older)
    except OSError as exc:
        raise _write_failed(slots[0], exc, lang) from None
    write_atomic(slots[0], data, lang=lang, mode_of=book)


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)
