"""Preflight: decide from the bytes alone whether a received file may be handed to a parser.

Runs before openpyxl, pandas or calamine touch a file (reliability notes §0.2, §0.10, §6.1). The parsers
decide the format by extension or by their own sniffing, and have no guard against ZIP bombs, dimension
bombs or (without defusedxml) entity expansion, so this module looks at the container itself:

1. name rules (Office ``~$`` owner files, dotfiles, ``.tmp``, ``Thumbs.db``) → skipped, not a return;
2. size (empty, over the limit);
3. magic bytes → ZIP (xlsx/xlsm/ods), OLE compound file (xls, or an encrypted OOXML), or something else;
4. ZIP: member count, duplicate names, encryption flags, overlapping members, declared sizes and ratios,
   then one streamed pass over every member that checks its CRC with a bounded output size and looks at
   the first 4 KB of each XML part (DOCTYPE/ENTITY, the sheet's ``<dimension>``);
5. OLE: a minimal directory walk ([MS-CFB]) for the stream names, and the BIFF FILEPASS record.

Stdlib only and no XML parser: a hostile file costs no more than a normal one. No exception escapes
``check_file``; anything unexpected becomes FILE_CORRUPT (and is logged for the operator).
"""

from __future__ import annotations

import codecs
import html
import io
import itertools
import logging
import math
import os
import re
import struct
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NoReturn

from pipeline.form.layout import col_letter
from pipeline.intake import odf, ole
from pipeline.issues import Issue, Severity, format_number, issue

try:  # every part of every return is inflated here: zlib-ng does it in half the time, with zlib's API
    from zlib_ng import zlib_ng as zlib
except ImportError:  # a platform without its wheel
    import zlib

log = logging.getLogger(__name__)

MiB = 1024 * 1024

_HEAD = 4096  # bytes of each XML part looked at: the prolog and <dimension> are always near the top
_SMALL_READ = 64 * 1024  # bound for reading small identifying parts ([Content_Types].xml, mimetype, manifest)
_IN_CHUNK = 64 * 1024  # compressed bytes fed to zlib at a time, so unconsumed_tail copies stay small
_OUT_CHUNK = 256 * 1024  # decompressed bytes produced at a time: memory stays bounded whatever the ratio


@dataclass(frozen=True)
class Limits:
    """Ceilings for one return. The real form is ~50 KB; each limit is orders of magnitude above a normal
    return and orders below what exhausts a parser's memory (notes §0.2: 778 KB → 4.47 GB RSS)."""

    max_file_bytes: int = 25 * MiB
    max_members: int = 2000
    max_total_uncompressed: int = 200 * MiB
    max_part_uncompressed: int = 64 * MiB
    max_ratio: float = 200  # per part, only for parts over 1 MiB: small XML legitimately compresses well
    max_dimension_cells: int = 5_000_000  # rows × cols of a sheet's <dimension ref>
    max_rows: int = 100_000


DEFAULT_LIMITS = Limits()
_RATIO_FLOOR = MiB


@dataclass(frozen=True, slots=True)
class Preflight:
    """What the bytes are and whether a parser may open them.

    ``format`` is the spreadsheet format the bytes show ("xlsx", "xlsm", "xls", "ods"), or None when they
    show none; it can be set together with an ERROR (a password-protected .xls is still "xls")."""

    format: str | None
    skip: bool
    issues: tuple[Issue, ...]
    has_macros: bool
    # A ZIP-based file whose every part was checked by inflating it: the same parts, stored uncompressed,
    # for the parser (which then need not inflate them a second time), less what the reader never reads
    # (see _for_parser). None otherwise.
    unpacked: bytes | None = field(default=None, repr=False, compare=False)
    # An .xlsx sheet part, an .ods table or an .xls sheet's ROW record hides rows: the reader then says which
    # of them hold the form's inputs (calamine does not tell hidden rows apart).
    hidden_rows: bool = field(default=False, compare=False)
    # An .xls in the Excel 5.0/95 format (BIFF5/7) with the Vietnamese code page: read, and said so.
    excel95: bool = field(default=False, compare=False)
    # An .xlsx sheet part holds a formula without a calculated value (saved by a program that does not
    # calculate): the reader then looks for such formulas in input cells, which calamine reads as empty.
    uncached_formulas: bool = field(default=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.format is not None and not any(i.severity is Severity.ERROR for i in self.issues)


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def check_file(data: bytes, name: str, *, limits: Limits = DEFAULT_LIMITS) -> Preflight:
    """Classify ``data`` (the whole file) and list FILE_* issues. ``name`` is only used for the skip
    rules and in messages: the format is decided from the bytes."""
    found = _Findings(name)
    try:
        _run_checks(data, found, limits)
    except _Stop:
        pass
    except Exception:  # the guard must never be what crashes on a hostile file
        log.warning("preflight: unexpected failure on %r", name, exc_info=True)
        found.add("FILE_CORRUPT", reason="structure")
    return found.result()


def check_path(path: str | os.PathLike[str], *, limits: Limits = DEFAULT_LIMITS) -> Preflight:
    """Read at most ``limits.max_file_bytes + 1`` bytes of ``path`` and check them. Messages carry the
    base name only: a server path must not reach an agency's feedback (notes §0.1)."""
    name = os.path.basename(os.fspath(path))
    found = _Findings(name)
    if _skipped_by_name(found):  # an owner file may be locked by Excel: no need to open it at all
        return found.result()
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            data = handle.read(limits.max_file_bytes + 1) if size <= limits.max_file_bytes else None
    except FileNotFoundError:
        found.add("FILE_VANISHED", name=name)
        return found.result()
    except OSError as exc:  # locked by Excel on a share, no permission, a directory…: retried next run
        found.add("FILE_UNREADABLE", reason=type(exc).__name__)
        return found.result()
    if data is None:  # the real size, reported without reading 25 MB+ into memory
        found.add("FILE_TOO_LARGE", size_mb=_mb_up(size), limit_mb=_mb(limits.max_file_bytes))
        return found.result()
    return check_file(data, name, limits=limits)


# --------------------------------------------------------------------------------------------------
# Collecting findings: a check either returns, adds a warning, or stops with an error
# --------------------------------------------------------------------------------------------------


class _Stop(Exception):
    """Raised after an ERROR is recorded: later checks would read what should not be read."""


@dataclass
class _Findings:
    name: str
    format: str | None = None
    skip: bool = False
    has_macros: bool = False
    issues: list[Issue] = field(default_factory=list)
    unpacked: bytes | None = None
    hidden_rows: bool = False
    excel95: bool = False
    uncached_formulas: bool = False

    def add(self, code: str, **context: object) -> None:
        if "kind" in context:  # the kind of file is shown to agencies: say it in their language too
            context["kind_vi"] = _KIND_VI.get(str(context["kind"]), context["kind"])
            context["kind_en"] = context["kind"]
        self.issues.append(issue(code, file=self.name, context=dict(context)))

    def stop(self, code: str, **context: object) -> NoReturn:
        self.add(code, **context)
        raise _Stop

    def result(self) -> Preflight:
        return Preflight(self.format, self.skip, tuple(self.issues), self.has_macros, self.unpacked,
                         self.hidden_rows, self.excel95, self.uncached_formulas)


def _run_checks(data: bytes, found: _Findings, limits: Limits) -> None:
    if _skipped_by_name(found):
        return
    _check_size(data, found, limits)
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        _check_zip(data, found, limits)
    elif data.startswith(_OLE_MAGIC):
        _check_ole(data, found)
    else:
        kind = _other_kind(data)
        workbook = _xml_workbook_kind(_ascii_markup(data[:_ROOT_HEAD])) if kind in _XML_KINDS else None
        if workbook is None:  # e.g. an HTML page naming the namespace: not one, whatever its head suggested
            found.stop("FILE_NOT_SPREADSHEET", kind="XML" if kind in _XML_WORKBOOKS else kind)
        _check_xml_workbook(data, workbook, found)


# --------------------------------------------------------------------------------------------------
# 1–2. Name and size
# --------------------------------------------------------------------------------------------------

_SKIP_NAMES = {
    "thumbs.db": "Windows thumbnail cache",
    "ehthumbs.db": "Windows thumbnail cache",
    "desktop.ini": "Windows folder settings",
}
# Files the department's own tools leave beside the returns (a sample manifest, notes, logs): skipped and
# listed. Documents an agency might send instead of the form (.pdf, .doc, .zip…) are NOT here: they are
# refused with a message, so the agency is asked for the form.
_SKIP_EXTENSIONS = {".json": "JSON", ".md": "text notes", ".log": "log file", ".ini": "settings file",
                    ".lock": "lock file", ".sqlite": "database", ".bak": "backup file"}
_KIND_VI = {
    "Windows thumbnail cache": "tệp ảnh thu nhỏ của Windows",
    "Windows folder settings": "tệp cấu hình thư mục của Windows",
    "hidden file": "tệp ẩn",
    "temporary file": "tệp tạm",
    "JSON": "tệp dữ liệu JSON",
    "text notes": "tệp ghi chú",
    "log file": "tệp nhật ký",
    "settings file": "tệp cấu hình",
    "lock file": "tệp khóa",
    "database": "cơ sở dữ liệu",
    "backup file": "tệp sao lưu",
    "PDF": "tệp PDF",
    "unknown binary": "tệp nhị phân không rõ loại",
    "ZIP": "tệp nén ZIP",
    "Word .docx": "văn bản Word .docx",
    "Word .doc": "văn bản Word .doc",
    "PowerPoint .pptx": "bản trình chiếu PowerPoint .pptx",
    "PowerPoint .ppt": "bản trình chiếu PowerPoint .ppt",
    "Excel binary .xlsb": "sổ Excel nhị phân .xlsb",
    "OpenDocument (not a spreadsheet)": "tài liệu OpenDocument (không phải bảng tính)",
    "Outlook message (.msg)": "thư Outlook (.msg)",
    "Office document (OLE)": "tài liệu Office (OLE)",
    "Excel 2.x–4.0 (.xls)": "bảng tính Excel 2.x–4.0 (.xls) quá cũ",
    "HTML": "trang HTML",
    "CSV/text": "văn bản CSV",
    "XML Spreadsheet 2003": "bảng tính XML 2003",
    "XML": "tệp XML",
    "MHTML web archive": "trang web lưu trữ MHTML",
}


def _skipped_by_name(found: _Findings) -> bool:
    base = found.name.replace("\\", "/").rsplit("/", 1)[-1]
    if base.startswith("~$"):  # Excel/Word owner file: 165 bytes of user name, exists while a file is open
        found.skip = True
        found.add("FILE_OWNER_LOCK", name=base)
        return True
    kind = _SKIP_NAMES.get(base.lower())
    if kind is None and base.startswith("."):  # .DS_Store, macOS "._x.xlsx" resource forks, editor files
        kind = "hidden file"
    if kind is None and base.lower().endswith(".tmp"):  # Office's save-in-progress files
        kind = "temporary file"
    if kind is None:
        kind = _SKIP_EXTENSIONS.get(os.path.splitext(base)[1].lower())
    if kind is None:
        return False
    found.skip = True
    found.add("FILE_SKIPPED", name=base, kind=kind)
    return True


def _check_size(data: bytes, found: _Findings, limits: Limits) -> None:
    if not data:
        found.stop("FILE_EMPTY")
    if len(data) > limits.max_file_bytes:
        found.stop("FILE_TOO_LARGE", size_mb=_mb_up(len(data)), limit_mb=_mb(limits.max_file_bytes))


def _mb(size: int) -> float:
    return round(size / MiB, 1 if size >= MiB else 3)


def _mb_text(size: int) -> str:
    return f"{format_number(_mb_up(size))} MB"


def _mb_up(size: int) -> float:
    """Rounded up, so a file 1 byte over a 25 MB limit does not read '25 MB (limit 25 MB)'."""
    digits = 10 if size >= MiB else 1000
    return math.ceil(size / MiB * digits) / digits


# --------------------------------------------------------------------------------------------------
# 3. Content that is neither ZIP nor OLE: name what it is, for the message
# --------------------------------------------------------------------------------------------------

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_KINDS = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"{\\rtf", "RTF document"),
)
_BIFF_BOF = frozenset({0x0009, 0x0209, 0x0409, 0x0809})  # BOF record ids of BIFF2…BIFF8
_TEXT_CONTROLS = frozenset(range(32)) - {9, 10, 12, 13, 26}  # tab, LF, FF, CR and DOS EOF are text


def _other_kind(data: bytes) -> str:
    head = data[:_HEAD]
    if b"%PDF-" in head[:1024]:  # the PDF header may follow up to 1 KB of junk
        return "PDF"
    for magic, kind in _BINARY_KINDS:
        if head.startswith(magic):
            return kind
    if _is_standalone_biff(head):
        return "Excel 2.x–4.0 (.xls)"
    return _text_kind(head) or "unknown binary"


def _is_standalone_biff(head: bytes) -> bool:
    """Pre-Excel-5 worksheets are bare BIFF records (no OLE container); no reader here supports them."""
    if len(head) < 8:
        return False
    record, length = struct.unpack_from("<HH", head)
    return record in _BIFF_BOF and 4 <= length <= 16


def _text_kind(head: bytes) -> str | None:
    text = _decode_text(head)
    if text is None:
        return None
    low = text.lstrip("\ufeff \t\r\n").lower()
    if low.startswith("<") and (
        "urn:schemas-microsoft-com:office:spreadsheet" in low or 'progid="excel.sheet"' in low
    ):
        return "XML Spreadsheet 2003"
    if low.startswith(("<!doctype html", "<html", "<head", "<body", "<table", "<meta", "<style")):
        return "HTML"  # Excel's "Web Page" export, or a web report saved as .xls
    if low.startswith("<?xml"):
        return "HTML" if "<html" in low else "XML"
    if low.startswith("mime-version:") or "\nmime-version:" in low[:1024]:
        return "MHTML web archive"  # Excel's "Single File Web Page"
    return "CSV/text"


def _decode_text(head: bytes) -> str | None:
    """The head as text if it plausibly is text (UTF-8, UTF-16 with BOM, or a legacy 8-bit code page such as
    TCVN3/cp1258), else None."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = head[: len(head) & ~1].decode("utf-16", "replace")
    elif b"\x00" in head:
        return None
    else:
        # final=False: the 4 KB cut may split a multi-byte character; other invalid UTF-8 means a legacy
        # 8-bit code page, which is still text
        try:
            text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
        except UnicodeDecodeError:
            text = head.decode("latin-1")
    controls = sum(1 for ch in text if ord(ch) in _TEXT_CONTROLS)
    return text if controls <= len(text) // 20 else None


# --------------------------------------------------------------------------------------------------
# 3b. Workbooks that are one XML file: Excel 2003 XML Spreadsheet (.xml), flat OpenDocument (.fods)
# --------------------------------------------------------------------------------------------------

_FLAT_ODF = "flat OpenDocument"
_XML_WORKBOOKS = {"XML Spreadsheet 2003": "xml", _FLAT_ODF: "fods"}  # the kind → the format
_XML_KINDS = ("XML", "XML Spreadsheet 2003")  # what _other_kind says of them from the first 4 KB
_ROOT_HEAD = 64 * 1024  # a flat ODF root element's namespace declarations take ~2 KB
_SPREADSHEETML = b"urn:schemas-microsoft-com:office:spreadsheet"
_WORKBOOK_ROOT = re.compile(rb"<(?:[\w.-]+:)?Workbook[\s>/]")
_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")  # can only be markup: in a cell's text '<' is written &lt;


def _xml_workbook_kind(markup: bytes) -> str | None:
    """A workbook by its root element: flat ODF's <office:document office:mimetype="…spreadsheet">, or
    SpreadsheetML's <Workbook> (any prefix) with its namespace (in the first 64 KB: past a DOCTYPE or a long
    comment too, so that those are refused as what they are); an HTML page naming the namespace is not one."""
    if odf.declares_spreadsheet(markup):
        return _FLAT_ODF
    workbook = _WORKBOOK_ROOT.search(markup) is not None and _SPREADSHEETML in markup
    return "XML Spreadsheet 2003" if workbook else None


def _check_xml_workbook(data: bytes, kind: str, found: _Findings) -> None:
    """The guards of any XML part, on the whole file: its size was checked, and no DTD may stand anywhere in it
    (the head check, then a search of the rest, which a long comment cannot push a DOCTYPE out of). A flat ODF
    file becomes the .ods package calamine reads; an XML Spreadsheet is parsed by the reader
    (intake/spreadsheetml.py), which bounds its sheets by their real cells."""
    found.format = _XML_WORKBOOKS[kind]
    if _declares_entities(_ascii_markup(data[:_HEAD]), len(data) <= _HEAD) or any(d in data for d in _DECLARATIONS):
        found.stop("FILE_XML_ENTITIES", part=found.name)
    if found.format == "xml":
        found.hidden_rows = True  # the parsed workbook knows, at no extra cost: let the reader ask it
        return
    _check_ods_cells(data, found, DEFAULT_LIMITS)
    if odf.has_macros(data):
        _flag_macros(found)
    found.hidden_rows = b'table:visibility="collapse"' in data or b'table:visibility="filter"' in data
    found.unpacked = odf.package(data)


# --------------------------------------------------------------------------------------------------
# 4–7. ZIP containers: xlsx, xlsm, ods (and docx or a plain ZIP, which are refused)
# --------------------------------------------------------------------------------------------------

_ZIP_ENCRYPTED = 0x01 | 0x40  # traditional PKWARE encryption, strong encryption
_ZIP_PATCHED = 0x20  # "compressed patched data": zipfile refuses it, Excel never writes it
_ZIP_UTF8_NAME = 0x800
_XML_SUFFIXES = (".xml", ".rels", ".vml", ".rdf")
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_WORKBOOK_CONTENT_TYPES = (  # the main part of .xlsx/.xlsm/.xltx/.xltm, whatever the part is called
    b"spreadsheetml.sheet.main+xml",
    b"spreadsheetml.template.main+xml",
    b"ms-excel.sheet.macroenabled.main+xml",
    b"ms-excel.template.macroenabled.main+xml",
)


@dataclass(frozen=True, slots=True)
class _Part:
    """A ZIP member as zipfile's central directory describes it, with its compressed bytes located."""

    info: zipfile.ZipInfo
    key: str  # the OPC part name as compared: '/'-separated, no leading '/', ASCII case-insensitive
    flags: int  # central and local general-purpose flags together: a reader may trust either
    start: int  # offset of the compressed data
    data: memoryview


def _check_zip(data: bytes, found: _Findings, limits: Limits) -> None:
    _check_declared_member_count(data, found, limits)
    infos, start_dir = _open_zip(data, found)
    _check_member_count(len(infos), found, limits)
    found.format = _format_from_names(info.filename.lower() for info in infos)  # refined by _classify_zip
    keys = _check_duplicates(infos, found)
    view = memoryview(data)
    parts = {key: _locate(view, info, key, found) for key, info in zip(keys, infos, strict=True)}
    _check_zip_encryption(parts, found)
    _check_methods(parts.values(), found)
    _classify_zip(parts, found)
    _check_declared_sizes(parts.values(), found, limits)
    _check_overlaps(parts.values(), start_dir, found)
    _verify_members(parts.values(), found, limits)


def _check_declared_member_count(data: bytes, found: _Findings, limits: Limits) -> None:
    """Read the entry count from the end-of-central-directory record before zipfile builds one ZipInfo per
    entry: a 25 MB flood holds ~500,000 of them."""
    eocd = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 0xFFFF))
    if eocd < 0 or eocd + 22 > len(data):
        return  # zipfile will report the damage
    (count,) = struct.unpack_from("<H", data, eocd + 10)
    if count != 0xFFFF and count > limits.max_members:  # 0xFFFF: ZIP64, zipfile reads the real count
        found.stop("FILE_ZIP_BOMB", reason=f"{count} parts, limit {limits.max_members}")


def _open_zip(data: bytes, found: _Findings) -> tuple[list[zipfile.ZipInfo], int]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.infolist(), archive.start_dir
    except Exception:  # zipfile raises a dozen types on damaged input (BadZipFile, ValueError, struct.error…)
        found.stop("FILE_CORRUPT", reason="zip")


def _check_member_count(count: int, found: _Findings, limits: Limits) -> None:
    if count == 0:  # a 22-byte empty ZIP is what an interrupted save leaves behind (notes §0.8)
        found.stop("FILE_CORRUPT", reason="empty zip")
    if count > limits.max_members:
        found.stop("FILE_ZIP_BOMB", reason=f"{count} parts, limit {limits.max_members}")


def _check_duplicates(infos: list[zipfile.ZipInfo], found: _Findings) -> list[str]:
    """Two members with one name are read differently by different tools (notes §0.6). OPC part names are
    ASCII case-insensitive, so 'XL/Workbook.xml' duplicates 'xl/workbook.xml'."""
    keys = [info.filename.replace("\\", "/").lstrip("/").lower() for info in infos]
    seen: set[str] = set()
    for key, info in zip(keys, infos, strict=True):
        if key in seen:
            found.stop("FILE_DUPLICATE_PARTS", part=info.filename)
        seen.add(key)
    return keys


def _locate(view: memoryview, info: zipfile.ZipInfo, key: str, found: _Findings) -> _Part:
    """Find the member's compressed bytes through its local header, with zipfile's own consistency checks
    (signature, same name as the central directory) plus bounds."""
    offset = info.header_offset
    if offset < 0 or offset + 30 > len(view) or view[offset : offset + 4] != b"PK\x03\x04":
        found.stop("FILE_CORRUPT", reason=f"{info.filename}: header")
    flags, name_len, extra_len = struct.unpack_from("<H18xHH", view, offset + 6)
    if view[offset + 30 : offset + 30 + name_len] != _encoded_name(info.orig_filename, flags):
        found.stop("FILE_CORRUPT", reason=f"{info.filename}: header")
    start = offset + 30 + name_len + extra_len
    end = start + info.compress_size
    if end > len(view):
        found.stop("FILE_CORRUPT", reason=f"{info.filename}: truncated")
    return _Part(info, key, info.flag_bits | flags, start, view[start:end])


def _encoded_name(name: str, local_flags: int) -> bytes | None:
    """The local header's name bytes that zipfile would accept (it decodes them with the local UTF-8 flag
    and compares). Both codecs are one-to-one, so comparing encoded bytes is the same test, and cheaper."""
    if name.isascii():
        return name.encode("ascii")
    try:
        return name.encode("utf-8" if local_flags & _ZIP_UTF8_NAME else "cp437")
    except UnicodeEncodeError:
        return None


def _check_zip_encryption(parts: dict[str, _Part], found: _Findings) -> None:
    if any(part.flags & _ZIP_ENCRYPTED for part in parts.values()):
        found.stop("FILE_ENCRYPTED")


def _check_methods(parts: Iterable[_Part], found: _Findings) -> None:
    """Excel writes only stored and deflated members; anything else (bzip2, LZMA, patched data) would be
    read by zipfile but not by Excel, so the agency's copy is not what a parser here would see."""
    for part in parts:
        method = part.info.compress_type
        if part.flags & _ZIP_PATCHED or method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            found.stop("FILE_CORRUPT", reason=f"{part.info.filename}: compression method {method}")


def _format_from_names(names: Iterable[str]) -> str | None:
    """A first guess from the member names alone, for files refused before their content is read."""
    names = set(names)
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "mimetype" in names and "content.xml" in names:
        return "ods"
    return None


def _classify_zip(parts: dict[str, _Part], found: _Findings) -> None:
    content_types = _read_part(parts, "[content_types].xml", found).lower()
    if "xl/workbook.xml" in parts or any(ct in content_types for ct in _WORKBOOK_CONTENT_TYPES):
        found.format = "xlsx"
        if _ooxml_has_macros(parts, content_types):
            found.format = "xlsm"  # decided by content: an .xlsx name does not make VBA go away
            _flag_macros(found)
        return
    if _is_ods(parts, found):
        found.format = "ods"
        _check_ods_encryption(parts, found)
        if _ods_has_macros(parts):
            _flag_macros(found)
        return
    found.format = None
    found.stop("FILE_NOT_SPREADSHEET", kind=_zip_kind(parts, content_types))


def _ooxml_has_macros(parts: dict[str, _Part], content_types: bytes) -> bool:
    """VBA (vbaProject.bin, wherever the relationship points) or Excel 4.0 macro sheets (XLM)."""
    if b"macroenabled" in content_types or b"vbaproject" in content_types:
        return True
    return any(key.endswith("vbaproject.bin") or key.startswith("xl/macrosheets/") for key in parts)


def _is_ods(parts: dict[str, _Part], found: _Findings) -> bool:
    if "mimetype" in parts:
        return _read_part(parts, "mimetype", found, limit=128).strip().startswith(_ODS_MIMETYPE)
    # the mimetype member is optional: fall back on the body element of content.xml
    return "content.xml" in parts and b"<office:spreadsheet" in _read_part(parts, "content.xml", found)


def _check_ods_encryption(parts: dict[str, _Part], found: _Findings) -> None:
    """ODF encrypts members itself (no ZIP flag); the manifest lists them with <manifest:encryption-data>."""
    if b"encryption-data" in _read_part(parts, "meta-inf/manifest.xml", found):
        found.stop("FILE_ENCRYPTED")


def _ods_has_macros(parts: dict[str, _Part]) -> bool:
    """LibreOffice Basic modules live under Basic/<library>/; script-lb/lc.xml alone are empty indexes."""
    return any(
        key.startswith(("basic/", "scripts/")) and not key.endswith(("/", "script-lb.xml", "script-lc.xml"))
        for key in parts
    )


def _flag_macros(found: _Findings) -> None:
    found.has_macros = True
    found.add("FILE_MACROS")


def _zip_kind(parts: dict[str, _Part], content_types: bytes) -> str:
    if "word/document.xml" in parts:
        return "Word .docx"
    if "ppt/presentation.xml" in parts:
        return "PowerPoint .pptx"
    if "xl/workbook.bin" in parts or b"sheet.binary.macroenabled.main" in content_types:
        return "Excel binary .xlsb"
    if "mimetype" in parts and "content.xml" in parts:
        return "OpenDocument (not a spreadsheet)"
    return "ZIP"


def _check_declared_sizes(parts: Iterable[_Part], found: _Findings, limits: Limits) -> None:
    """Refuse on the central directory's numbers, before anything is decompressed (Python docs,
    zipfile 'Decompression pitfalls'). The streamed pass below makes sure the numbers were not lies."""
    total = 0
    for part in parts:
        info = part.info
        if info.file_size > limits.max_part_uncompressed:
            found.stop("FILE_ZIP_BOMB", reason=f"{info.filename}: {_mb_text(info.file_size)}")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_FLOOR and ratio > limits.max_ratio:
            found.stop("FILE_ZIP_BOMB", reason=f"{info.filename}: {ratio:.0f}:1")
        total += info.file_size
    if total > limits.max_total_uncompressed:
        found.stop("FILE_ZIP_BOMB", reason=f"total {_mb_text(total)}")


def _check_overlaps(parts: Iterable[_Part], start_dir: int, found: _Findings) -> None:
    """Members whose data overlap (or run into the central directory) are the 'overlapping files' ZIP
    bomb: many entries inflate the same bytes. Python 3.11's zipfile does not detect it."""
    ordered = sorted(parts, key=lambda p: p.info.header_offset)
    for current, following in zip(ordered, [*ordered[1:], None], strict=True):
        limit = following.info.header_offset if following else start_dir
        if current.start + current.info.compress_size > limit:
            found.stop("FILE_ZIP_BOMB", reason="overlapping parts")


def _verify_members(parts: Iterable[_Part], found: _Findings, limits: Limits) -> None:
    budget = limits.max_total_uncompressed
    unpacked: list[tuple[zipfile.ZipInfo, bytes, int]] | None = []
    for part in parts:
        head, produced, whole = _stream_member(part, budget, found)
        budget -= produced
        if whole is None and part.key == "content.xml":  # a large .ods (checked by now): its copy is edited
            inflated = _one_shot(part)
            whole = inflated[2] if inflated else None
        if part.key.endswith(_XML_SUFFIXES) or _looks_like_xml(head):
            oversized = _check_xml_head(part, head, found, limits)
            if oversized is not None:
                _check_cells(part, whole if whole is not None else _inflated(part), oversized, found, limits)
        if unpacked is not None and whole is not None:
            if part.key.startswith("xl/worksheets/"):
                if b'hidden="' in whole:  # the regex only where it may match
                    found.hidden_rows |= _HIDDEN_ROW.search(whole) is not None
                found.uncached_formulas |= any(mark in whole for mark in _NO_CACHED_VALUE)
            elif part.key == "content.xml":  # .ods
                _check_ods_cells(whole, found, limits)
                found.hidden_rows |= b'table:visibility="collapse"' in whole or b'table:visibility="filter"' in whole
            unpacked.append(_for_parser(part, whole))
        else:
            unpacked = None
    found.unpacked = None if unpacked is None else _stored_zip(unpacked)


def _stream_member(part: _Part, budget: int, found: _Findings) -> tuple[bytes, int, bytes | None]:
    """Decompress the whole member to check its size and CRC; keep the first 4 KB. Output never exceeds
    the declared size (+1 byte, to see a lie) nor the run's budget, so a lying header cannot force a large
    allocation. A small member (the common case: every part of a normal return) is inflated in one C call
    and returned whole; anything unusual goes through the chunked path, which names the exact fault."""
    info = part.info
    if info.file_size <= _ONE_SHOT and info.file_size < budget:
        checked = _one_shot(part)
        if checked is not None:
            return checked
    return (*_chunked(part, budget, found), None)


_ONE_SHOT = 1 * MiB  # members up to this declared size are inflated in one call, bounded by that size


def _one_shot(part: _Part) -> tuple[bytes, int, bytes] | None:
    """(head, size, data) of a member whose data inflate to exactly its declared size with its CRC; None
    for anything else (then the chunked path finds and reports the fault)."""
    info = part.info
    try:
        if info.compress_type == zipfile.ZIP_STORED:
            out: bytes | memoryview = part.data
        else:
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            out = inflater.decompress(part.data, info.file_size + 1)  # bounded: a lie shows as one byte more
            if not inflater.eof:
                return None
    except zlib.error:
        return None
    if len(out) != info.file_size or zlib.crc32(out) != info.CRC:
        return None
    return bytes(out[:_HEAD]), len(out), bytes(out)


_HIDDEN_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*\shidden="(?:1|true)"')
# A cell ending right after its formula, or after an empty or self-closed value: a formula without a calculated
# value (openpyxl writes <v></v> with lxml, <v /> without). The template's formulas that show nothing are written
# <v></v> too: the reader then looks, and finds no input cell among them. (A cell's other children never
# self-close before its end.)
_NO_CACHED_VALUE = (b"</f></c>", b"/></c>", b"<v></v>")

# A row whose cells are all formatted and empty (self-closed). The template pre-formats its 50 project rows, so
# a return carries ~1,000 such cells, and leaving those rows out of the parser's copy halves that sheet's parse.
_EMPTY_ROW = re.compile(rb"<row [^>]*>(?:<c [^>]*/>)*</row>")
# Whether to run it is judged on 4 KB from the middle of the part (every pass over a whole part costs about as
# much as the regex): blanks there, about 20 bytes each, mean a table of them; a wrong guess only costs time.
_EMPTY_SAMPLE = 4096
_MANY_EMPTY = 50


def _for_parser(part: _Part, data: bytes) -> tuple[zipfile.ZipInfo, bytes, int]:
    """A checked part as the parser's copy holds it (info, data, CRC of the data), less what the reader never
    asks calamine for and calamine would parse all the same: a sheet's rows of formatted blanks, and the
    workbook's defined names (the template names every input cell; `_meta` is what locates them); and an .ods's
    content.xml without the indentation calamine refuses (gnumeric's, see intake/odf.py)."""
    edited = data
    middle = len(data) // 2
    if part.key.startswith("xl/worksheets/") and data.count(b"/>", middle, middle + _EMPTY_SAMPLE) > _MANY_EMPTY:
        edited = _EMPTY_ROW.sub(b"", data)
    elif part.key == "xl/workbook.xml":
        start, end = data.find(b"<definedNames>"), data.find(b"</definedNames>")
        if 0 <= start < end:
            edited = data[:start] + data[end + len(b"</definedNames>") :]
    elif part.key == "content.xml":
        edited = odf.without_indentation(data)
    return part.info, edited, part.info.CRC if edited is data else zlib.crc32(edited)


def _stored_zip(members: list[tuple[zipfile.ZipInfo, bytes, int]]) -> bytes:
    """A new ZIP of the members (info, data, CRC of the data), uncompressed: what the parser reads instead of
    the original, so that no part is inflated twice (inflating is a third of reading a return)."""
    local: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for info, body, crc in members:
        name = info.filename.encode("utf-8")  # flag 0x800: the name is UTF-8
        header = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0x800, 0, 0, 0x21, crc, len(body),
                             len(body), len(name), 0)
        central.append(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0x800, 0, 0, 0x21, crc,
                                   len(body), len(body), len(name), 0, 0, 0, 0, 0, offset) + name)
        local += (header, name, body)
        offset += len(header) + len(name) + len(body)
    directory = b"".join(central)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), offset, 0)
    return b"".join(local) + directory + end


def _chunked(part: _Part, budget: int, found: _Findings) -> tuple[bytes, int]:
    info = part.info
    head = b""
    produced = 0
    crc = 0
    try:
        for chunk in _member_chunks(part):
            produced += len(chunk)
            if produced > info.file_size:
                found.stop("FILE_ZIP_BOMB", reason=f"{info.filename}: more data than declared")
            if produced > budget:  # only reachable if the declared-size checks above were relaxed
                found.stop("FILE_ZIP_BOMB", reason="total size over the limit")
            if len(head) < _HEAD:
                head += bytes(chunk[: _HEAD - len(head)])
            crc = zlib.crc32(chunk, crc)
    except (zlib.error, _Truncated):
        found.stop("FILE_CORRUPT", reason=f"{info.filename}: deflate")
    if produced != info.file_size:
        found.stop("FILE_CORRUPT", reason=f"{info.filename}: truncated")
    if crc != info.CRC:
        found.stop("FILE_CORRUPT", reason=f"{info.filename}: CRC")
    return head, produced


class _Truncated(Exception):
    """The deflate stream ended before its end-of-stream marker."""


def _member_chunks(part: _Part) -> Iterator[bytes | memoryview]:
    data = part.data
    if part.info.compress_type == zipfile.ZIP_STORED:
        for start in range(0, len(data), _OUT_CHUNK):
            yield data[start : start + _OUT_CHUNK]
        return
    yield from _inflate(data)


def _inflate(data: memoryview) -> Iterator[bytes]:
    """Raw deflate, at most _OUT_CHUNK bytes of output per step whatever the compression ratio."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    for start in range(0, len(data), _IN_CHUNK):
        pending: bytes | memoryview = data[start : start + _IN_CHUNK]
        while pending and not inflater.eof:
            out = inflater.decompress(pending, _OUT_CHUNK)
            if not out and len(inflater.unconsumed_tail) == len(pending):
                raise _Truncated  # no progress: zlib needs input it will never get
            pending = inflater.unconsumed_tail
            if out:
                yield out
        if inflater.eof:
            return
    while not inflater.eof:  # output zlib still holds after the last input byte
        out = inflater.decompress(b"", _OUT_CHUNK)
        if not out:
            raise _Truncated
        yield out


def _read_part(parts: dict[str, _Part], key: str, found: _Findings, limit: int = _SMALL_READ) -> bytes:
    """The first ``limit`` decompressed bytes of a member ('' when absent): for identifying the format."""
    part = parts.get(key)
    if part is None:
        return b""
    out = bytearray()
    try:
        for chunk in _member_chunks(part):
            out += chunk[: limit - len(out)]
            if len(out) >= limit:
                break
    except (zlib.error, _Truncated):
        found.stop("FILE_CORRUPT", reason=f"{part.info.filename}: deflate")
    return bytes(out)


# --- the first 4 KB of an XML part -------------------------------------------------------------------

_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\b[^>]*?\sref\s*=\s*[\"']([^\"']{1,40})[\"']")
_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})(?::\$?([A-Za-z]{1,3})\$?(\d{1,7}))?")
# Whitespace, the declaration, PIs and comments; each written out as "up to the first ?> (-->)" without lazy
# repeats, which cost twice as much (this runs on every part of every file).
_PROLOG = re.compile(rb"(?:\s+|<\?[^?]*(?:\?(?!>)[^?]*)*\?>|<!--[^-]*(?:-(?!->)[^-]*)*-->)*")


def _looks_like_xml(head: bytes) -> bool:
    """Parsers find parts through relationships, not names: a sheet stored as 'xl/data/s1.bin' is read
    as XML all the same, so content that starts like XML is checked whatever the part is called."""
    start = head[:64].lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")
    return start.startswith(b"<")


def _check_xml_head(part: _Part, head: bytes, found: _Findings, limits: Limits) -> _Dimension | None:
    """Entities are refused; an oversized <dimension> is returned, for the part's own cells to be judged."""
    markup = _ascii_markup(head)
    complete = part.info.file_size <= len(head)
    if _declares_entities(markup, complete):
        found.stop("FILE_XML_ENTITIES", part=part.info.filename)
    oversized = _check_dimension(markup, limits)  # any part: a sheet may be renamed
    if oversized is not None and _is_utf16(head):  # no spreadsheet program writes it: not looked at further
        found.stop("FILE_DIMENSION_BOMB", sheet=part.info.filename, ref=oversized.ref)
    return oversized


def _is_utf16(head: bytes) -> bool:
    return head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"<\x00", b"\x00<"))


def _ascii_markup(head: bytes) -> bytes:
    """The head with its markup in ASCII: UTF-16 (which expat accepts, found by BOM or by its '<' pattern)
    is transcoded; anything else is ASCII-compatible already and is searched as bytes, undecoded."""
    if head.startswith((codecs.BOM_UTF16_LE, b"<\x00")):
        return head[: len(head) & ~1].decode("utf-16-le", "replace").lstrip("\ufeff").encode()
    if head.startswith((codecs.BOM_UTF16_BE, b"\x00<")):
        return head[: len(head) & ~1].decode("utf-16-be", "replace").lstrip("\ufeff").encode()
    return head[3:] if head.startswith(codecs.BOM_UTF8) else head


def _declares_entities(markup: bytes, complete: bool) -> bool:
    """A DOCTYPE (and with it any ENTITY) can only stand in the prolog, right before the root element, so
    the check skips the prolog (declaration, PIs, comments) and looks at what comes next. Excel's prolog
    is one line; one that runs past the head is refused rather than read further, because a comment of any
    length could push a DOCTYPE out of the window."""
    if b"<!DOCTYPE" in markup:  # anywhere in the head, as a second net (case-sensitive, as XML is)
        return True
    prolog = _PROLOG.match(markup)  # '*': always matches, possibly empty
    rest = markup[prolog.end() :] if prolog else markup
    if not rest or rest.startswith((b"<?", b"<!--")):  # the head ended inside the prolog
        return not complete
    return rest.startswith(b"<!")  # <!DOCTYPE, <!ENTITY, in any spelling


@dataclass(frozen=True, slots=True)
class _Dimension:
    ref: str  # as the part declares it
    last_row: int
    last_col: int


def _check_dimension(markup: bytes, limits: Limits) -> _Dimension | None:
    """The <dimension> decides how much openpyxl and pandas allocate (notes §0.2: a 1.6 KB file declaring
    A1:XFD1048576 drove pandas to MemoryError). An oversized one is returned, to be judged on the part's own
    rows and cells (_check_cells); a ref that does not parse is left to the reader."""
    at = markup.find(b"dimension")  # a plain search first: the regex alone is slow over 4 KB of markup
    match = _DIMENSION.search(markup, max(0, at - 40)) if at >= 0 else None
    text = match.group(1).decode("latin-1").strip() if match else ""
    ref = _REF.fullmatch(text)
    if not ref:
        return None
    col1, row1 = _column_number(ref.group(1)), int(ref.group(2))
    col2, row2 = _column_number(ref.group(3) or ref.group(1)), int(ref.group(4) or ref.group(2))
    rows, cols = abs(row2 - row1) + 1, abs(col2 - col1) + 1
    if rows > limits.max_rows or rows * cols > limits.max_dimension_cells:
        return _Dimension(text, max(row1, row2), max(col1, col2))
    return None


_ROW_TAG = re.compile(rb"<(?:[\w.-]+:)?row\b([^>]*)>")
_CELL_TAG = re.compile(rb"<(?:[\w.-]+:)?c\b([^>]*?)(/?)>")  # group 2: "/" for a cell without content
_CELL_REF = re.compile(rb"\sr\s*=\s*[\"']\$?([A-Za-z]{0,3})\$?(\d{1,7})[\"']")


def _check_cells(part: _Part, data: bytes, declared: _Dimension, found: _Findings, limits: Limits) -> None:
    """A dimension alone is not a bomb. LibreOffice, once a row of a sheet was deleted, writes an empty last row
    (r="1048576") and declares the sheet down to it: what a parser allocates is the area its cells with content
    span, and that is judged here, with the count of rows and cells, under the same limits. A dimension no row
    or cell of the part reaches is a lie told to readers that trust it, and is refused as before; so is a part
    whose rows or cells do not say where they are (every spreadsheet program writes r="…")."""
    last_row = rows = 0
    for tag in _ROW_TAG.finditer(data):
        where = _CELL_REF.search(tag.group(1))
        if where is None:
            found.stop("FILE_DIMENSION_BOMB", sheet=part.info.filename, ref=declared.ref)
        rows += 1
        last_row = max(last_row, int(where.group(2)))
    cells = last_col = 0
    top, bottom, left, right = math.inf, 0, math.inf, 0  # the area of the cells holding something
    for tag in _CELL_TAG.finditer(data):
        where = _CELL_REF.search(tag.group(1))
        if where is None or not where.group(1):
            found.stop("FILE_DIMENSION_BOMB", sheet=part.info.filename, ref=declared.ref)
        cells += 1
        row, col = int(where.group(2)), _column_number(where.group(1).decode("ascii"))
        last_col = max(last_col, col)
        if not tag.group(2):
            top, bottom, left, right = min(top, row), max(bottom, row), min(left, col), max(right, col)
    span_rows = bottom - top + 1 if bottom else 0
    span = span_rows * (right - left + 1) if bottom else 0
    if (declared.last_row > last_row or declared.last_col > last_col or rows > limits.max_rows
            or cells > limits.max_dimension_cells or span_rows > limits.max_rows
            or span > limits.max_dimension_cells):
        found.stop("FILE_DIMENSION_BOMB", sheet=part.info.filename, ref=declared.ref)


# An .ods table, row or cell tag. Rows and cells come run-length encoded: a 1 KB content.xml may ask for a
# value repeated over 6,000 rows × 16,000 columns, which calamine expands (12 GB, 81 s) below its own ceiling
# of 100 million cells. Only cells with content count: LibreOffice closes every sheet with a million empty
# repeated rows (self-closed cells), which no parser expands.
_ODS_TAG = re.compile(rb"<table:table[\s>]|<table:table-row\b[^>]*>|<table:(?:covered-)?table-cell\b[^>]*>")
_ODS_NAME = re.compile(rb'table:name="([^"]*)"')
_ODS_ROWS = re.compile(rb'table:number-rows-repeated="(\d{1,9})"')
_ODS_COLUMNS = re.compile(rb'table:number-columns-repeated="(\d{1,9})"')


def _check_ods_cells(data: bytes, found: _Findings, limits: Limits) -> None:
    """Each table's cells with content as a parser expands them (their repeats multiplied out, and the area
    they span) under the limits an .xlsx sheet's cells are held to."""
    tables = [m.start() for m in re.finditer(rb"<table:table[\s>]", data)]
    for start, end in zip(tables, [*tables[1:], len(data)], strict=True):
        name = _ODS_NAME.search(data, start, data.find(b">", start) + 1)
        row = col = repeat = cells = 0
        top, bottom, right = math.inf, 0, 0
        for tag in _ODS_TAG.finditer(data, start, end):
            text = tag.group()
            if text.startswith(b"<table:table-row"):
                row += repeat
                col, repeat = 0, _repeat(_ODS_ROWS, text)
                continue
            if not text.startswith(b"<table:table-cell") and not text.startswith(b"<table:covered"):
                continue
            width = _repeat(_ODS_COLUMNS, text)
            if not text.endswith(b"/>"):
                cells += width * repeat
                top, bottom, right = min(top, row + 1), max(bottom, row + repeat), max(right, col + width)
            col += width
        span = (bottom - top + 1) * right if bottom else 0
        if cells > limits.max_dimension_cells or span > limits.max_dimension_cells or bottom > limits.max_rows:
            sheet = html.unescape(name.group(1).decode("utf-8", "replace")) if name else "?"
            found.stop("FILE_DIMENSION_BOMB", sheet=sheet, ref=f"A1:{col_letter(max(right - 1, 0))}{bottom}")


def _repeat(pattern: re.Pattern[bytes], tag: bytes) -> int:
    match = pattern.search(tag)
    return max(int(match.group(1)), 1) if match else 1


def _inflated(part: _Part) -> bytes:
    """A member's data, whole: for the rare large part whose cells must be looked at. Its declared size was
    checked against the limits and its data against the declared size and CRC on the way here."""
    if part.info.compress_type == zipfile.ZIP_STORED:
        return bytes(part.data)
    return zlib.decompressobj(-zlib.MAX_WBITS).decompress(part.data, part.info.file_size)


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


# --------------------------------------------------------------------------------------------------
# OLE compound files: .xls (BIFF), encrypted OOXML, .doc and others
# --------------------------------------------------------------------------------------------------

_BIFF_SCAN_RECORDS = 32  # FILEPASS follows the globals' BOF directly; a few records of slack

# A ROW record (0x0208, 16 bytes) whose flags' low byte has fDyZero (0x20): the row is hidden. A search over
# the stream, not a walk of its records: a match inside another record only makes the reader look closer.
_BIFF_HIDDEN_ROW = re.compile(rb"\x08\x02\x10\x00[\s\S]{12}[\x20-\x3f\x60-\x7f\xa0-\xbf\xe0-\xff]")


def _check_ole(data: bytes, found: _Findings) -> None:
    try:
        cfb = ole.Cfb(data)
        entries = cfb.root_children()
    except (ole.Broken, struct.error):
        found.stop("FILE_CORRUPT", reason="ole")
    streams = {e.name.lower(): e for e in entries if e.kind == ole.OLE_STREAM}
    storages = {e.name.lower() for e in entries if e.kind == ole.OLE_STORAGE}
    if "encryptioninfo" in streams or "encryptedpackage" in streams:
        found.stop("FILE_ENCRYPTED")  # a password-protected .xlsx/.xlsm is an OLE file (MS-OFFCRYPTO)
    book = ole.workbook_entry(streams)
    if book is None:
        found.stop("FILE_NOT_SPREADSHEET", kind=_ole_kind(streams, storages))
    found.format = "xls"
    if "_vba_project_cur" in storages:
        _flag_macros(found)
    try:
        stream = cfb.stream_head(book, book.size)
    except (ole.Broken, struct.error):
        found.stop("FILE_CORRUPT", reason="ole")
    _check_biff_head(stream[:_HEAD], found)
    found.hidden_rows = _BIFF_HIDDEN_ROW.search(stream) is not None



def _ole_kind(streams: dict[str, ole.OleEntry], storages: set[str]) -> str:
    if "worddocument" in streams:
        return "Word .doc"
    if "powerpoint document" in streams:
        return "PowerPoint .ppt"
    if any(name.startswith("__substg1.0_") for name in streams):
        return "Outlook message (.msg)"
    return "Office document (OLE)"



_CODEPAGE = 0x0042
_VIETNAMESE_CODEPAGE = 1258  # windows-1258: the one 8-bit code page an Excel 5.0/95 file holds Vietnamese in


def _check_biff_head(head: bytes, found: _Findings) -> None:
    if len(head) < 4 or struct.unpack_from("<H", head)[0] not in _BIFF_BOF:
        found.stop("FILE_CORRUPT", reason="xls")
    codepage = None
    for record, payload in itertools.islice(ole.biff_records(head), _BIFF_SCAN_RECORDS):
        if record == ole.FILEPASS:  # the workbook is encrypted with an open password
            found.stop("FILE_ENCRYPTED")
        if record == _CODEPAGE and len(payload) >= 2:
            codepage = int.from_bytes(payload[:2], "little")
        if record == ole.BIFF_EOF:
            break
    if len(head) >= 6 and struct.unpack_from("<H", head, 4)[0] < ole.BIFF8_VERSION:
        _check_excel95(codepage, found)


def _check_excel95(codepage: int | None, found: _Findings) -> None:
    """Excel 5.0/95 (BIFF5/7) keeps text in one 8-bit code page, not in Unicode. Saved with the Vietnamese
    one (a Vietnamese Windows' Excel, gnumeric told so) it holds the form's text and is read; saved with any
    other (a Western Windows' Excel, gnumeric's default) the accented letters were replaced by '?' on saving,
    the labels and names cannot be read back, and the agency must save its original again."""
    if codepage != _VIETNAMESE_CODEPAGE:
        found.stop("FILE_EXCEL95_TEXT_LOST", codepage=str(codepage or "—"))
    found.excel95 = True
