"""The parser's copy of an .xls, its number formats numbered where calamine reads them right.

python-calamine decides that a number is a date from its cell's number format: by the format's id alone for
ids 14–22, 27–36, 45–47 and 50–58 (Excel's built-in date formats, the East Asian ones among them), by the
format's own text for any other id. Excel and LibreOffice give the formats a workbook defines ids from 164 on;
gnumeric numbers them from 50 ('0.0', '#,##0.0', …), so in a return it saved every money and percent cell was
read as a date ("24/10/1900"). The copy calamine reads gives each format the workbook itself defines under one
of those ids, and whose text shows no date or time, a free id from 164 on: in its FORMAT record and in every XF
record that uses it (two bytes each, patched in place inside the compound file). A format id the workbook does
not define is Excel's built-in one and is left alone, and so is everything else: the file as received is kept
as it is (the reader's copy only is patched).
"""

from __future__ import annotations

import itertools
import re
import struct

from pipeline.intake import ole

_BOF, _FORMAT, _XF = 0x0809, 0x041E, 0x00E0
_DATE_IDS = frozenset((*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)))  # dates by id alone
_FIRST_CUSTOM = 164  # where Excel's own ids for a workbook's formats start


def for_parser(data: bytes) -> bytes:
    """The .xls (that passed the preflight) as calamine should read it: the same bytes unless a format had to
    be renumbered."""
    try:
        cfb = ole.Cfb(data)
        book = ole.workbook_entry({e.name.lower(): e for e in cfb.root_children() if e.kind == ole.OLE_STREAM})
        if book is None:
            return data
        patches = renumbered(cfb.stream_head(book, book.size))
        offsets = cfb.stream_offsets(book) if patches else None
    except (ole.Broken, struct.error):
        return data  # the parser will say what is wrong with it
    if not patches or offsets is None:
        return data
    copy = bytearray(data)
    size = cfb.sector_size
    for position, value in patches:
        for at, byte in enumerate(struct.pack("<H", value), start=position):  # a field may straddle two sectors
            copy[offsets[at // size] + at % size] = byte
    return bytes(copy)


def renumbered(stream: bytes) -> list[tuple[int, int]]:
    """(offset in the Workbook stream, new id) of every format id to rewrite, in FORMAT and XF records."""
    formats: dict[int, tuple[int, str]] = {}  # id → (offset of the id, the format's text)
    uses: list[tuple[int, int]] = []  # (offset of an XF's format id, that id)
    biff8 = True
    for record, at, payload in ole.biff_records_at(stream):
        if record == _BOF and at == 0 and len(payload) >= 2:
            biff8 = int.from_bytes(payload[:2], "little") >= ole.BIFF8_VERSION
        elif record == _FORMAT and len(payload) >= 3:
            formats[int.from_bytes(payload[:2], "little")] = (at + 4, _format_text(payload, biff8))
        elif record == _XF and len(payload) >= 4:
            uses.append((at + 6, int.from_bytes(payload[2:4], "little")))
        elif record == ole.BIFF_EOF:
            break
    free = itertools.count(max([_FIRST_CUSTOM - 1, *formats]) + 1)
    new = {fid: next(free) for fid, (_, text) in sorted(formats.items())
           if fid in _DATE_IDS and not is_date_format(text)}
    return [(formats[fid][0], to) for fid, to in new.items()] + [(at, new[fid]) for at, fid in uses if fid in new]


def _format_text(payload: memoryview, biff8: bool) -> str:
    """A FORMAT record's format string: BIFF8 an XLUnicodeString (16-bit count, flags, 8- or 16-bit characters),
    BIFF5 an 8-bit count and 8-bit characters."""
    if not biff8:
        return bytes(payload[3 : 3 + payload[2]]).decode("latin-1")
    if len(payload) < 5:
        return ""
    count, wide = int.from_bytes(payload[2:4], "little"), payload[4] & 1
    raw = bytes(payload[5 : 5 + count * (2 if wide else 1)])
    return raw.decode("utf-16-le" if wide else "latin-1", "replace")


_LITERALS = re.compile(r'"[^"]*"|\\.|[_*].')  # quoted text, an escaped character, a width or fill character
_ELAPSED = re.compile(r"\[(?:h+|m+|s+)\]", re.IGNORECASE)  # [h]:mm, [mm]:ss: elapsed time
_BRACKETS = re.compile(r"\[[^\]]*\]")  # [Red], [$-42A], [>=100]: colours, locales, conditions
_DATE_TOKENS = re.compile(r"[dmyhs]|a/p", re.IGNORECASE)  # day, month or minute, year, hour, second, AM/PM


def is_date_format(code: str) -> bool:
    """Whether a number format shows a date or a time, in any of its sections. When in doubt it says yes: a
    format is only renumbered when it is plainly a number format."""
    plain = _LITERALS.sub("", code)
    return bool(_ELAPSED.search(plain) or _DATE_TOKENS.search(_BRACKETS.sub("", plain)))
