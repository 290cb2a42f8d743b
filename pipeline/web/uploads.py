"""Files sent through the desk, put into the inbox as if saved there by hand: under a safe name, whole or not
at all, never over another file.

The name the browser sends is only a hint: its last component, NFC, with every character but letters, digits
and a few marks replaced, cut to a length Windows and Excel accept. It is never joined to a path as it came.
The bytes go to a hidden folder inside the inbox (the same file system; `list_inbox` lists only the inbox's
own files, so a consolidation running meanwhile never sees a half-written upload), are flushed, then
hard-linked to their name, which fails rather than replace a file that exists: two uploads of the same name
at once both land, the second as "name (2).xlsx".
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import threading
import unicodedata
from pathlib import Path

UPLOADING = ".ictplan-uploading"  # inside the inbox: files being written
STEM_LIMIT = 80  # characters of the original stem kept (full paths stay far under Windows' 260)
_UNSAFE = re.compile(r"[^\w .()+,-]", re.UNICODE)  # \w: letters (Vietnamese too), digits, underscore
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
_naming = threading.Lock()  # where hard links are not available, names are taken one at a time


def safe_name(sent: str | None) -> str:
    """A file name derived from the one a browser sent: no folder, no control or reserved characters, no
    leading dot, not a name Windows reserves, a short lower-case extension."""
    base = unicodedata.normalize("NFC", (sent or "").replace("\\", "/").rsplit("/", 1)[-1])
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = _UNSAFE.sub("_", "".join(ch for ch in stem if unicodedata.category(ch)[0] != "C"))
    stem = re.sub(r"\s+", " ", stem).strip(" .")[:STEM_LIMIT].strip(" .") or "tep_tai_len"
    if stem.split(".")[0].lower() in _RESERVED:
        stem = "_" + stem
    ext = re.sub(r"[^a-z0-9]", "", ext.lower())[:5]
    return f"{stem}.{ext}" if ext else stem


def save_into_inbox(inbox: Path, sent_name: str | None, data: bytes) -> Path:
    """Write `data` into `inbox` under a safe, unused name; returns its path. Durable once it returns."""
    inbox.mkdir(parents=True, exist_ok=True)
    staging = inbox / UPLOADING
    staging.mkdir(exist_ok=True)
    temp = staging / f"{secrets.token_hex(8)}.part"
    with open(temp, "xb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    try:
        target = _link_unused(temp, inbox, safe_name(sent_name))
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()
    _fsync_dir(inbox)
    return target


def _link_unused(temp: Path, inbox: Path, name: str) -> Path:
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    for n in range(1, 10_000):
        candidate = inbox / (name if n == 1 else f"{stem} ({n}){dot}{ext}")
        try:
            os.link(temp, candidate)
            return candidate
        except FileExistsError:
            continue
        except OSError:  # no hard links on this file system (FAT, some shares)
            with _naming:
                if candidate.exists():
                    continue
                os.rename(temp, candidate)
                return candidate
    raise FileExistsError(f"no free name for {name!r} in {inbox}")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_leftovers(inbox: Path) -> None:
    """Uploads a killed server left half-written (never in the inbox itself)."""
    staging = inbox / UPLOADING
    if staging.is_dir():
        for part in staging.glob("*.part"):
            with contextlib.suppress(OSError):
                part.unlink()
