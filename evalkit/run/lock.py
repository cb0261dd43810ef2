"""One run owns its output folder for its whole life.

`<run>/.evalkit-lock` names the owner (process id, host, start time, command) and is held with
flock(2) while the run lives: a second run into the same folder (a resubmitted cluster job, the same
command typed twice) stops with a one-line error naming the owner before it changes anything. The
kernel releases the lock when the owner ends, however it ends (SIGKILL included), so a lock file left
behind is stale by construction and simply taken over. Under torchrun the main process holds it for
the whole process group. Where the filesystem offers no flock (some network mounts), a lock file
naming a live process on this host is respected and any other is taken over.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import IO, Any

from evalkit.errors import EvalkitError

LOCK_FILE = ".evalkit-lock"
_BUSY = (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)


class FolderLock:
    """The held lock of one folder; `release` (or the process's end) frees it."""

    def __init__(self, path: Path, handle: IO[str]):
        self.path = path
        self._handle: IO[str] | None = handle

    def release(self) -> None:
        """Remove the lock file, then unlock (a run that opened the old file finds it gone and retries)."""
        if self._handle is None:
            return
        self.path.unlink(missing_ok=True)
        self._handle.close()  # closing the descriptor drops the flock
        self._handle = None


def lock_folder(folder: Path) -> FolderLock:
    """Take `folder`'s lock, or raise a one-line error naming the run that holds it."""
    path = folder / LOCK_FILE
    for _ in range(5):  # the owner may remove the file between our open and our flock
        try:
            handle = path.open("a+", encoding="utf-8")
        except OSError as error:
            raise EvalkitError(f"cannot create the run lock ({error.strerror})", path=path) from None
        if not _flock(handle, folder) or not _same_file(handle, path):
            handle.close()
            continue
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(_owner()) + "\n")
        handle.flush()
        return FolderLock(path, handle)
    raise EvalkitError("could not take the run lock (it kept changing hands)", path=path)


def _flock(handle: IO[str], folder: Path) -> bool:
    """True once locked; raises when another run holds the folder."""
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as error:
        owner = _read_owner(handle)
        if error.errno in _BUSY or (owner and _alive_here(owner)):
            raise EvalkitError(f"in use by another evalkit run ({_describe(owner)}); wait for it to end, "
                               "or choose another --output", path=folder) from None
        return True  # no flock on this filesystem and no live owner: a stale file, taken over


def _same_file(handle: IO[str], path: Path) -> bool:
    try:
        return os.fstat(handle.fileno()).st_ino == path.stat().st_ino
    except FileNotFoundError:
        return False


def _owner() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "command": " ".join(sys.argv)[:300]}


def _read_owner(handle: IO[str]) -> dict[str, Any]:
    try:
        handle.seek(0)
        owner = json.loads(handle.read() or "{}")
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}


def _alive_here(owner: dict[str, Any]) -> bool:
    if owner.get("host") != socket.gethostname() or not isinstance(owner.get("pid"), int):
        return False
    try:
        os.kill(owner["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _describe(owner: dict[str, Any]) -> str:
    if not owner:
        return "owner unknown"
    return f"pid {owner.get('pid')} on {owner.get('host')}, started {owner.get('started')}"
