"""Freeze a process inside open() of a chosen file: fanotify permission events (Linux, root).

The kernel holds every open() of a file in the watched directory until this listener answers,
so a test can act (send SIGKILL) while the opener is provably at that point of its code.
"""

from __future__ import annotations

import ctypes
import os
import select
import struct
import time
from collections.abc import Callable
from pathlib import Path

_FAN_CLOEXEC = 0x01
_FAN_CLASS_CONTENT = 0x04
_FAN_MARK_ADD = 0x01
_FAN_OPEN_PERM = 0x0001_0000
_FAN_EVENT_ON_CHILD = 0x0800_0000
_FAN_ALLOW = 0x01
_AT_FDCWD = -100
_EVENT = struct.Struct("=IBBHQii")  # event_len, vers, reserved, metadata_len, mask, fd, pid
_RESPONSE = struct.Struct("=iI")  # fd, response


class OpenTrap:
    """Watch the opens of files in ``directory``; see ``wait``."""

    def __init__(self, directory: Path) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.fanotify_mark.argtypes = [
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint64,
            ctypes.c_int,
            ctypes.c_char_p,
        ]
        self._fd = libc.fanotify_init(_FAN_CLASS_CONTENT | _FAN_CLOEXEC, os.O_RDONLY)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "fanotify_init (needs root)")
        mask = _FAN_OPEN_PERM | _FAN_EVENT_ON_CHILD
        if libc.fanotify_mark(self._fd, _FAN_MARK_ADD, mask, _AT_FDCWD, os.fsencode(directory)):
            error = ctypes.get_errno()
            os.close(self._fd)
            raise OSError(error, f"fanotify_mark {directory}")

    def close(self) -> None:
        os.close(self._fd)  # any open still held is allowed by the kernel

    def wait(self, name: str, action: Callable[[], None], timeout: float) -> bool:
        """Allow every open until one of ``name``; run ``action`` while that opener is held,
        then let it go. False if no such open came within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([self._fd], [], [], left)[0]:
                break
            buffer = os.read(self._fd, 4096)
            found = False
            offset = 0
            while offset < len(buffer):
                length, _, _, _, _, fd, _ = _EVENT.unpack_from(buffer, offset)
                offset += length
                if Path(os.readlink(f"/proc/self/fd/{fd}")).name == name and not found:
                    found = True
                    action()
                os.write(self._fd, _RESPONSE.pack(fd, _FAN_ALLOW))
                os.close(fd)
            if found:
                return True
        return False
