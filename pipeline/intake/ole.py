"""The OLE compound file ([MS-CFB]) and the BIFF records of an .xls: just enough to list a file's
streams, read the start of one, and walk the Workbook stream's records (sheets, hidden rows, FILEPASS).

Every sector number is bounds-checked and every walk bounded, so a crafted file costs no more than a real
one. The preflight uses it to decide what an OLE file is; the reader, for what calamine does not tell.
"""

from __future__ import annotations

import struct
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

_ENDOFCHAIN = 0xFFFFFFFE
_MAXREGSECT = 0xFFFFFFFA
_NOSTREAM = 0xFFFFFFFF
FILEPASS = 0x002F
BIFF_EOF = 0x000A
_BIFF8_BOF = b"\x09\x08"  # the BOF record id (0x0809) as its first two bytes: BIFF5–8 substreams
BIFF8_VERSION = 0x0600  # the version in a BOF record: 0x0600 Excel 97–2003 (BIFF8), 0x0500 Excel 5.0/95 (BIFF5/7)
_BOUNDSHEET, _ROW = 0x0085, 0x0208
_ROW_HIDDEN = 0x20  # fDyZero, in the low byte of a ROW record's flags
_OLE_MAX_ENTRIES = 10_000  # a workbook has ~10 directory entries; far more is a crafted file
OLE_STREAM, OLE_STORAGE, _OLE_ROOT = 2, 1, 5


class Broken(Exception):
    """The compound file's own structure is inconsistent (truncated, loops, out-of-range sectors)."""


@dataclass(frozen=True, slots=True)
class OleEntry:
    name: str
    kind: int
    start: int
    size: int
    left: int  # siblings and first child: directory entry numbers (a red-black tree per storage)
    right: int
    child: int


def workbook_entry(streams: dict[str, OleEntry]) -> OleEntry | None:
    return streams.get("workbook") or streams.get("book")  # BIFF8 (Excel 97+) / BIFF5 (Excel 5–95)


def xls_workbook_stream(data: bytes) -> bytes:
    """The BIFF 'Workbook' stream of an .xls that passed the preflight (b"" for anything else)."""
    try:
        cfb = Cfb(data)
        book = workbook_entry({e.name.lower(): e for e in cfb.root_children() if e.kind == OLE_STREAM})
        return cfb.stream_head(book, book.size) if book is not None else b""
    except (Broken, struct.error):
        return b""


def xls_hidden_rows(stream: bytes, sheet: str) -> set[int]:
    """The Excel row numbers a sheet of an .xls hides, given its Workbook stream (xls_workbook_stream): its
    ROW records with fDyZero set. The globals' BOUNDSHEET records (BIFF8 names: ShortXLUnicodeString, 8-bit or
    UTF-16) say where each sheet's start."""
    wanted = unicodedata.normalize("NFC", sheet)  # calamine gives an Excel 5.0/95 name as decoded: decomposed
    start = next((at for at, name in _biff_sheets(stream) if name == wanted), None)
    hidden: set[int] = set()
    if start is None or stream[start : start + 2] != _BIFF8_BOF:
        return hidden
    for record, payload in biff_records(stream, start):
        if record == _ROW and len(payload) >= 14 and payload[12] & _ROW_HIDDEN:
            hidden.add(int.from_bytes(payload[:2], "little") + 1)
        elif record == BIFF_EOF:
            break
    return hidden


def _biff_sheets(stream: bytes) -> list[tuple[int, str]]:
    """(offset of its BOF record, name) of each sheet, from the globals substream. BIFF8 names are
    ShortXLUnicodeStrings (8-bit or UTF-16); Excel 5.0/95's are 8-bit, in the workbook's code page (the reader
    only opens those in windows-1258, see the preflight)."""
    sheets: list[tuple[int, str]] = []
    if stream[:2] != _BIFF8_BOF:
        return sheets
    biff8 = int.from_bytes(stream[4:6], "little") >= BIFF8_VERSION
    for record, payload in biff_records(stream, 0):
        if record == _BOUNDSHEET and len(payload) >= 7:
            count = payload[6]
            if biff8 and len(payload) >= 8:
                wide = payload[7] & 1
                raw = bytes(payload[8 : 8 + count * (2 if wide else 1)])
                name = raw.decode("utf-16-le" if wide else "latin-1", "replace")
            else:
                name = unicodedata.normalize("NFC", bytes(payload[7 : 7 + count]).decode("cp1258", "replace"))
            sheets.append((int.from_bytes(payload[:4], "little"), name))
        elif record == BIFF_EOF or sheets:  # they stand together, before the shared strings
            break
    return sheets


def biff_records(stream: bytes, start: int = 0) -> Iterator[tuple[int, memoryview]]:
    """(record id, payload) from `start` on, while a whole record header remains."""
    for record, _, payload in biff_records_at(stream, start):
        yield record, payload


def biff_records_at(stream: bytes, start: int = 0) -> Iterator[tuple[int, int, memoryview]]:
    """(record id, offset of the record in the stream, payload) from `start` on."""
    view = memoryview(stream)
    at = start
    while at + 4 <= len(stream):
        record, length = struct.unpack_from("<HH", stream, at)
        yield record, at, view[at + 4 : at + 4 + length]
        at += 4 + length


class Cfb:
    """Just enough of [MS-CFB] to list directory entries and read the start of one stream. Every sector
    number is bounds-checked and every chain walk is bounded by the sector count (no loops)."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 512:
            raise Broken
        major, byte_order, shift, mini_shift = struct.unpack_from("<HHHH", data, 0x1A)
        if byte_order != 0xFFFE or (major, shift) not in ((3, 9), (4, 12)) or mini_shift != 6:
            raise Broken
        (n_fat, self._dir_start, _, self._cutoff, self._minifat_start, _, difat_start, n_difat) = (
            struct.unpack_from("<8I", data, 0x2C)
        )
        self._data = data
        self._major = major
        self._root = OleEntry("", _OLE_ROOT, _ENDOFCHAIN, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM)
        self._size = 1 << shift
        self._per = self._size // 4  # sector numbers per FAT sector
        self._n_sectors = (len(data) - 1) // self._size  # sectors after the header, the last may be short
        if n_fat > self._n_sectors:
            raise Broken
        self._fat = self._fat_sectors(n_fat, difat_start, n_difat)

    def _fat_sectors(self, n_fat: int, difat_start: int, n_difat: int) -> list[int]:
        """The FAT's own sectors: 109 in the header, the rest in the DIFAT chain (files over ~7 MB)."""
        sectors = list(struct.unpack_from("<109I", self._data, 0x4C))[: min(n_fat, 109)]
        current = difat_start
        for _ in range(min(n_difat, self._n_sectors)):
            if len(sectors) >= n_fat:
                break
            offset = self._offset(current)
            entries = struct.unpack_from(f"<{self._per}I", self._data, offset)
            sectors.extend(entries[:-1])
            current = entries[-1]
        sectors = sectors[:n_fat]
        if len(sectors) < n_fat or any(s >= self._n_sectors for s in sectors):
            raise Broken
        return sectors

    def _offset(self, sector: int) -> int:
        if sector >= self._n_sectors:
            raise Broken
        return (sector + 1) * self._size

    def _next(self, sector: int) -> int:
        index, slot = divmod(sector, self._per)
        if index >= len(self._fat):
            raise Broken
        return struct.unpack_from("<I", self._data, self._offset(self._fat[index]) + 4 * slot)[0]

    def _chain(self, start: int) -> Iterator[int]:
        sector = start
        for _ in range(self._n_sectors + 1):
            if sector == _ENDOFCHAIN:
                return
            if sector > _MAXREGSECT or sector >= self._n_sectors:
                raise Broken
            yield sector
            sector = self._next(sector)
        raise Broken  # longer than the file: the chain loops

    def root_children(self) -> list[OleEntry]:
        """The entries directly under the root. Only these name the file: a Word .doc with an embedded
        Excel table holds a 'Workbook' stream too, one storage down."""
        slots = self._directory()
        children: list[OleEntry] = []
        pending, seen = [self._root.child], set()
        while pending:
            number = pending.pop()
            if number == _NOSTREAM:
                continue
            if number in seen or number >= len(slots) or slots[number] is None:
                raise Broken  # a loop or a link to a free slot
            seen.add(number)
            entry = slots[number]
            children.append(entry)
            pending += [entry.left, entry.right]
        return children

    def _directory(self) -> list[OleEntry | None]:
        """Every directory slot in order (None for a free one): entry numbers are positions."""
        slots: list[OleEntry | None] = []
        for sector in self._chain(self._dir_start):
            base = self._offset(sector)
            slots += [self._entry(offset) for offset in range(base, base + self._size, 128)]
            if len(slots) > _OLE_MAX_ENTRIES:
                raise Broken
        if not slots or slots[0] is None or slots[0].kind != _OLE_ROOT:
            raise Broken
        self._root = slots[0]
        return slots

    def _entry(self, offset: int) -> OleEntry | None:
        if offset + 128 > len(self._data):
            raise Broken
        name_len, kind = struct.unpack_from("<HB", self._data, offset + 0x40)
        if kind not in (OLE_STREAM, OLE_STORAGE, _OLE_ROOT):
            return None  # unallocated slot
        if name_len < 2 or name_len > 64 or name_len % 2:
            raise Broken
        name = self._data[offset : offset + name_len - 2].decode("utf-16-le", "replace")
        left, right, child = struct.unpack_from("<III", self._data, offset + 0x44)
        start, size = struct.unpack_from("<IQ", self._data, offset + 0x74)
        if self._major == 3:
            size &= 0xFFFFFFFF  # version 3 writers may leave garbage in the high half
        return OleEntry(name, kind, start, size, left, right, child)

    def stream_head(self, entry: OleEntry, limit: int) -> bytes:
        """The first ``limit`` bytes of a stream. Walks the whole chain, so a stream cut short by a
        truncated file is reported as broken rather than read short by the parser later."""
        if entry.size < self._cutoff:
            return self._mini_stream_head(entry, limit)
        head = bytearray()
        count = 0
        for sector in self._chain(entry.start):
            if len(head) < limit:
                offset = self._offset(sector)
                head += self._data[offset : offset + self._size]
            count += 1
        if count * self._size < entry.size:
            raise Broken
        return bytes(head[: min(limit, entry.size)])

    def stream_offsets(self, entry: OleEntry) -> list[int] | None:
        """Where each sector of a stream starts in the file, in stream order: so that a copy of the file can be
        patched in place. None for a stream kept in the mini stream (under 4096 bytes: no workbook is)."""
        if entry.size < self._cutoff:
            return None
        offsets = [self._offset(sector) for sector in self._chain(entry.start)]
        if len(offsets) * self._size < entry.size:
            raise Broken
        return offsets

    @property
    def sector_size(self) -> int:
        return self._size

    def _mini_stream_head(self, entry: OleEntry, limit: int) -> bytes:
        """Streams under the cutoff (4096) live in 64-byte sectors inside the root entry's stream."""
        container = list(self._chain(self._root.start))
        minifat = list(self._chain(self._minifat_start)) if entry.size else []
        count = -(-entry.size // 64)
        if count > len(container) * (self._size // 64):  # larger than the mini stream: no long walk
            raise Broken
        head = bytearray()
        mini = entry.start
        for _ in range(count):
            index, slot = divmod(mini, self._per)
            position = mini * 64
            if index >= len(minifat) or position // self._size >= len(container):
                raise Broken
            if len(head) < limit:
                offset = self._offset(container[position // self._size]) + position % self._size
                head += self._data[offset : offset + 64]
            mini = struct.unpack_from("<I", self._data, self._offset(minifat[index]) + 4 * slot)[0]
        return bytes(head[: min(limit, entry.size)])
