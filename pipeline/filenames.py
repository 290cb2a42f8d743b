"""Names of the files we write, safe on Windows and short enough for Excel.

The department's PCs run Windows and open our outputs in Excel, so every name we derive from an agency's text,
a received file's name or the form spec must be one NTFS accepts as it is and Excel can open:
- none of the characters Windows forbids in a name (``<>:"/\\|?*`` and control characters), no trailing dot
  or space (Windows silently drops them, so the file would not be where we recorded it), and not a device
  name (CON, PRN, AUX, NUL, COM0…9, LPT0…9, with any extension): `name_problem` says which (the spec's form
  id, version and round are refused with it; feedback names are plain ASCII letters, digits and ``._-``;
  archive names are a SHA-256 and the extension's letters);
- a full path of at most EXCEL_PATH_LIMIT characters: Excel refuses to open a longer one. `fit_name`
  shortens a name that would make it longer, deterministically (the same name in the same folder always
  gives the same short name): its stem is cut and ``~`` and 8 hex digits of the whole stem's SHA-1 are
  appended, so two long names that begin alike stay two files.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

EXCEL_PATH_LIMIT = 218  # characters of a full path (folder and name) Excel opens
FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                      *(f"{device}{n}" for device in ("COM", "LPT") for n in "0123456789¹²³")})
_DIGEST = 8  # hex digits of the stem's SHA-1 kept in a shortened name


def name_problem(name: str) -> str | None:
    """Why Windows would refuse `name` as a file name (or silently change it), or None."""
    if found := FORBIDDEN.search(name):
        return f"{found[0]!r} is not allowed in a Windows file name (nor any of <>:\"/\\|?* or a control character)"
    if name != name.rstrip(". "):
        return "Windows drops a trailing dot or space from a file name"
    if name.split(".", 1)[0].rstrip(" ").upper() in RESERVED:
        return f"{name.split('.', 1)[0]!r} is a device name on Windows (CON, PRN, AUX, NUL, COM1…, LPT1…)"
    return None


def fit_name(folder: Path, name: str, limit: int = EXCEL_PATH_LIMIT) -> str:
    """`name`, shortened if ``folder / name`` (as an absolute path) would exceed `limit` characters: its stem is
    shortened (see `shorten`), its suffix kept. When the folder leaves no room even for that, the shortest
    such name is returned (the folder itself is too long)."""
    room = limit - len(str(Path(folder).absolute() / "x")) + 1  # characters left for the name
    if len(name) <= room:
        return name
    stem, suffix = _split(name)
    return shorten(stem, max(room - len(suffix), _DIGEST + 2)) + suffix


def shorten(stem: str, length: int) -> str:
    """`stem` if it has at most `length` characters, else its beginning, "~" and 8 hex digits of the whole
    stem's SHA-1, in `length` characters: the same stem always gives the same short one, and two stems that
    begin alike stay apart."""
    if len(stem) <= length:
        return stem
    digest = "~" + hashlib.sha1(stem.encode("utf-8")).hexdigest()[:_DIGEST]
    return stem[: max(1, length - len(digest))].rstrip(". ") + digest


def fits_excel(path: Path) -> bool:
    """Whether Excel can open `path` (its absolute form is at most EXCEL_PATH_LIMIT characters)."""
    return len(str(Path(path).absolute())) <= EXCEL_PATH_LIMIT


def _split(name: str) -> tuple[str, str]:
    suffix = Path(name).suffix
    return (name[: -len(suffix)], suffix) if suffix else (name, "")
