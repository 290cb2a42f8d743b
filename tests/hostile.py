"""Generators of hostile and unusual input files, one per threat category of the reliability notes.

Every function is pure and returns the bytes of one file. The "real" files are built by the same tools
that produce real returns (xlsxwriter), or by hand to the published format (a minimal ODF package, a
version-3 compound file with a BIFF8 workbook stream), and the tests check that an independent reader
(python-calamine) opens them, so a case is hostile for one reason only.
"""

from __future__ import annotations

import datetime
import io
import math
import re
import struct
import warnings
import zipfile
from collections.abc import Iterable

import xlsxwriter

MiB = 1024 * 1024


# --------------------------------------------------------------------------------------------------
# Real files
# --------------------------------------------------------------------------------------------------


def real_xlsx(rows: int = 80, vba: bytes | None = None) -> bytes:
    """A small return as xlsxwriter writes it: three sheets, shared strings, a hidden _meta sheet.
    80 rows make each sheet part larger than the 4 KB head that preflight reads."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.set_properties({"created": _FIXED_TIME})  # same bytes on every run
    bold = book.add_format({"bold": True, "border": 1})
    for title in ("Hiện trạng", "Kế hoạch", "Dự án"):
        sheet = book.add_worksheet(title)
        sheet.write_row(0, 0, ["STT", "Chỉ tiêu", "Đơn vị", "Năm 2024", "Năm 2025"], bold)
        for row in range(1, rows):
            sheet.write_row(row, 0, [row, f"Chỉ tiêu số {row}", "máy", row * 3, row * 2.5])
    meta = book.add_worksheet("_meta")
    meta.write("A1", "ICT-2025 v1")
    meta.hide()
    if vba is not None:
        book.add_vba_project(io.BytesIO(vba), is_stream=True)
    book.close()
    return buffer.getvalue()


def real_xlsm() -> bytes:
    """An .xlsm as xlsxwriter writes it: vbaProject.bin plus the macroEnabled content type."""
    return real_xlsx(vba=vba_project())


def vba_project() -> bytes:
    """A stand-in vbaProject.bin: a compound file with the VBA storage and PROJECT stream."""
    project = b'ID="{00000000-0000-0000-0000-000000000000}"\r\nName="VBAProject"\r\n'
    return cfb(
        {"PROJECT": project}, {"VBA": {"dir": b"\x01" * 32, "_VBA_PROJECT": b"\xcc\x61" + b"\x00" * 5}}
    )


def disguised_vba_xlsx() -> bytes:
    """An .xlsx whose package carries vbaProject.bin although the content types say plain xlsx."""
    return rebuild(real_xlsx(), add=[("xl/vbaProject.bin", vba_project())])


def macro_content_type_xlsx() -> bytes:
    """Only the content type says macro-enabled (no vbaProject.bin)."""
    content_types = read_member(real_xlsx(), "[Content_Types].xml").replace(
        b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml"
    )
    return rebuild(real_xlsx(), replace={"[Content_Types].xml": content_types})


_ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"'
)
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


def _ods_manifest(extra: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:version="1.2" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        f'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">{extra}'
        "</manifest:file-entry>"
        '<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>'
        '<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    ).encode()


def _ods_content() -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<office:document-content {_ODS_NS}><office:body><office:spreadsheet>"
        '<table:table table:name="Hiện trạng"><table:table-row>'
        '<table:table-cell office:value-type="string"><text:p>Số máy tính</text:p></table:table-cell>'
        '<table:table-cell office:value-type="float" office:value="42"><text:p>42</text:p></table:table-cell>'
        "</table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"
    ).encode()


def real_ods(extra_members: Iterable[tuple[str, bytes]] = ()) -> bytes:
    """A minimal valid OpenDocument spreadsheet: 'mimetype' first and stored, as ODF requires."""
    members = [
        ("mimetype", _ODS_MIMETYPE),
        ("META-INF/manifest.xml", _ods_manifest()),
        ("content.xml", _ods_content()),
        ("styles.xml", f'<?xml version="1.0"?>\n<office:document-styles {_ODS_NS}/>'.encode()),
        ("meta.xml", f'<?xml version="1.0"?>\n<office:document-meta {_ODS_NS}/>'.encode()),
        *extra_members,
    ]
    return make_zip(members, stored={"mimetype"})


def ods_repeated_cells(rows: int, columns: int, *, empty: bool = False) -> bytes:
    """An .ods of 1 KB whose one cell is repeated over `rows` × `columns` (run-length encoded, as ODF writes a
    filled range): calamine expands it, below its own ceiling of 100 million cells (6,000 × 16,000: 12 GB).
    ``empty`` makes the cell self-closed and blank, as LibreOffice ends every sheet (never expanded)."""
    cell = ('<table:table-cell table:number-columns-repeated="{c}"/>' if empty else
            '<table:table-cell table:number-columns-repeated="{c}" office:value-type="string"><text:p>x</text:p>'
            "</table:table-cell>").format(c=columns)
    content = (f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {_ODS_NS}><office:body>'
               '<office:spreadsheet><table:table table:name="Hiện trạng"><table:table-row>'
               '<table:table-cell office:value-type="string"><text:p>Số máy tính</text:p></table:table-cell>'
               f'</table:table-row><table:table-row table:number-rows-repeated="{rows}">{cell}</table:table-row>'
               "</table:table></office:spreadsheet></office:body></office:document-content>").encode()
    return make_zip([("mimetype", _ODS_MIMETYPE), ("META-INF/manifest.xml", _ods_manifest()), ("content.xml", content)],
                    stored={"mimetype"})


def ods_with_macros() -> bytes:
    """LibreOffice Basic module inside the package."""
    module = b'<?xml version="1.0"?>\n<script:module xmlns:script="http://openoffice.org/2000/script"/>'
    return real_ods([("Basic/Standard/Module1.xml", module)])


def ods_encrypted() -> bytes:
    """A password-protected .ods: ODF encrypts content.xml itself and says so in the manifest."""
    manifest = _ods_manifest(
        '<manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="AAAA">'
        '<manifest:algorithm manifest:algorithm-name="Blowfish CFB" manifest:initialisation-vector="AAAA"/>'
        '<manifest:key-derivation manifest:key-derivation-name="PBKDF2" manifest:iteration-count="1024" '
        'manifest:salt="AAAA"/></manifest:encryption-data>'
    )
    members = [
        ("mimetype", _ODS_MIMETYPE),
        ("META-INF/manifest.xml", manifest),
        ("content.xml", bytes(range(256)) * 8),  # ciphertext
        ("styles.xml", b'<?xml version="1.0"?>\n<x/>'),
    ]
    return make_zip(members, stored={"mimetype", "content.xml"})


# --------------------------------------------------------------------------------------------------
# Empty, truncated, corrupt
# --------------------------------------------------------------------------------------------------


def empty() -> bytes:
    return b""


def empty_zip() -> bytes:
    """What an interrupted save leaves: an end-of-central-directory record and nothing else."""
    return b"PK\x05\x06" + b"\x00" * 18


def truncated_xlsx() -> bytes:
    """An attachment cut off in transit: the first half of a real return."""
    data = real_xlsx()
    return data[: len(data) // 2]


def corrupt_deflate() -> bytes:
    """Bytes flipped inside the compressed data of the first sheet (bad deflate stream or bad CRC)."""
    data = bytearray(real_xlsx())
    start, size = _member_data_span(bytes(data), "xl/worksheets/sheet1.xml")
    for offset in range(start + size // 3, start + size // 3 + 16):
        data[offset] ^= 0xFF
    return bytes(data)


def bad_crc() -> bytes:
    """Intact deflate data, wrong CRC-32 in both headers: the classic bit-rot signature."""
    return patch_member(real_xlsx(), "xl/sharedStrings.xml", crc=0x12345678)


# --------------------------------------------------------------------------------------------------
# Not a workbook: renamed HTML, CSV, ZIP, Word, PDF, XML Spreadsheet 2003
# --------------------------------------------------------------------------------------------------


def html_as_xlsx() -> bytes:
    """Excel's "Web Page" export (or a web report) saved with an .xlsx name."""
    return (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel">\r\n<head><meta charset="utf-8"></head>\r\n'
        "<body><table><tr><td>STT</td><td>Chỉ tiêu</td><td>Số lượng</td></tr>"
        "<tr><td>1</td><td>Máy tính</td><td>25</td></tr></table></body></html>\r\n"
    ).encode()


def csv_as_xls() -> bytes:
    """Excel's "CSV UTF-8" (with BOM) saved with an .xls name."""
    return "STT;Chỉ tiêu;Số lượng\r\n1;Máy tính để bàn;1.250\r\n2;Máy chủ;12,5\r\n".encode("utf-8-sig")


def legacy_csv() -> bytes:
    """CSV typed in an 8-bit Vietnamese code page (cp1258): not valid UTF-8, still text."""
    return "STT,Tên đơn,Năm\r\n1,Tư pháp,25\r\n".encode("cp1258")


def unicode_text() -> bytes:
    """Excel's "Unicode Text": UTF-16 LE with a BOM, tab-separated."""
    return "STT\tChỉ tiêu\tSố lượng\r\n1\tMáy tính\t25\r\n".encode("utf-16")


def xml_spreadsheet_2003() -> bytes:
    return (
        '<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">'
        '<Worksheet ss:Name="Hiện trạng"><Table><Row><Cell><Data ss:Type="Number">42</Data></Cell>'
        "</Row></Table></Worksheet></Workbook>\n"
    ).encode()


def plain_zip() -> bytes:
    """A ZIP of attachments renamed .xlsx."""
    return make_zip([("bao_cao.csv", csv_as_xls()), ("huong_dan.txt", b"Xem tep dinh kem.\r\n")])


def docx() -> bytes:
    content_types = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    document = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<w:document xmlns:w="http://schemas.openxmlformats.org/'
        b'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Bao cao</w:t></w:r></w:p></w:body></w:document>'
    )
    return make_zip([("[Content_Types].xml", content_types), ("word/document.xml", document)])


def pdf() -> bytes:
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def jpeg() -> bytes:
    return (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
    )


def owner_file() -> bytes:
    """Excel's ~$ owner file: 165 bytes, the user name as a Pascal string and again in UTF-16."""
    user = "Nguyen Van A"
    data = bytes([len(user)]) + user.encode("ascii").ljust(53, b" ")
    data += struct.pack("<H", len(user)) + user.encode("utf-16-le")
    return data.ljust(165, b"\x00")


# --------------------------------------------------------------------------------------------------
# OLE compound files: legacy .xls, encrypted OOXML, Word .doc
# --------------------------------------------------------------------------------------------------

_FREESECT, _ENDOFCHAIN, _FATSECT, _DIFSECT, _NOSTREAM = (
    0xFFFFFFFF,
    0xFFFFFFFE,
    0xFFFFFFFD,
    0xFFFFFFFC,
    0xFFFFFFFF,
)
_SECTOR, _MINI_SECTOR, _CUTOFF = 512, 64, 4096


def cfb(streams: dict[str, bytes], storages: dict[str, dict[str, bytes]] | None = None) -> bytes:
    """A minimal valid [MS-CFB] version-3 file: ``streams`` and ``storages`` under the root, each storage
    holding its own streams (one level). Siblings are linked as a chain of right siblings in CFB name order
    (a valid binary search tree); streams under 4096 bytes go to the mini stream as the format requires;
    FAT sectors past the header's 109 are listed in DIFAT sectors."""
    storages = storages or {}

    def ordered(names: Iterable[str]) -> list[str]:
        return sorted(names, key=lambda n: (len(n), n.upper()))

    # directory entries after the root: (name, kind, data); entry numbers are list index + 1
    top = ordered([*streams, *storages])
    entries = [(name, 2, streams[name]) if name in streams else (name, 1, b"") for name in top]
    right = {number: number + 1 for number in range(1, len(top))}
    child = {0: 1 if top else _NOSTREAM}
    for number, name in enumerate(top, start=1):
        inner = ordered(storages.get(name, {}))
        if inner:
            first = len(entries) + 1
            child[number] = first
            right.update({first + i: first + i + 1 for i in range(len(inner) - 1)})
            entries += [(kid, 2, storages[name][kid]) for kid in inner]

    sectors: list[bytes] = []
    fat: list[int] = []

    def allocate(blob: bytes) -> int:
        count = max(1, math.ceil(len(blob) / _SECTOR))
        first = len(sectors)
        for i in range(count):
            sectors.append(blob[i * _SECTOR : (i + 1) * _SECTOR].ljust(_SECTOR, b"\x00"))
            fat.append(first + i + 1 if i < count - 1 else _ENDOFCHAIN)
        return first

    mini = bytearray()
    minifat: list[int] = []
    starts: dict[int, int] = {}
    for number, (_, kind, data) in enumerate(entries, start=1):
        if kind == 2 and 0 < len(data) < _CUTOFF:
            first, count = len(mini) // _MINI_SECTOR, math.ceil(len(data) / _MINI_SECTOR)
            minifat += [first + i + 1 for i in range(count - 1)] + [_ENDOFCHAIN]
            mini += data.ljust(count * _MINI_SECTOR, b"\x00")
            starts[number] = first
    mini_start = allocate(bytes(mini)) if mini else _ENDOFCHAIN
    minifat_blob = struct.pack(f"<{len(minifat)}I", *minifat)
    padded = minifat_blob.ljust(math.ceil(len(minifat_blob) / _SECTOR) * _SECTOR, b"\xff")  # FREESECT
    minifat_start = allocate(padded) if minifat else _ENDOFCHAIN
    for number, (_, kind, data) in enumerate(entries, start=1):
        if kind == 2 and len(data) >= _CUTOFF:
            starts[number] = allocate(data)

    directory = [_dir_entry("Root Entry", 5, mini_start, len(mini), child=child[0])]
    for number, (name, kind, data) in enumerate(entries, start=1):
        start = starts.get(number, _ENDOFCHAIN) if kind == 2 else 0
        directory.append(
            _dir_entry(
                name,
                kind,
                start,
                len(data),
                right=right.get(number, _NOSTREAM),
                child=child.get(number, _NOSTREAM),
            )
        )
    while len(directory) % (_SECTOR // 128):
        directory.append(_dir_entry("", 0, 0, 0))
    dir_start = allocate(b"".join(directory))

    # FAT sectors, and DIFAT sectors for FAT sectors beyond the 109 the header lists (files over ~6.9 MB)
    n_fat = n_difat = 1
    while True:
        n_difat = max(0, math.ceil((n_fat - 109) / 127))
        needed = math.ceil((len(sectors) + n_fat + n_difat) / (_SECTOR // 4))
        if needed <= n_fat:
            break
        n_fat = needed
    fat_start, difat_start = len(sectors), len(sectors) + n_fat
    fat += [_FATSECT] * n_fat + [_DIFSECT] * n_difat
    fat += [_FREESECT] * (n_fat * (_SECTOR // 4) - len(fat))
    fat_blob = struct.pack(f"<{len(fat)}I", *fat)
    for i in range(n_fat):
        sectors.append(fat_blob[i * _SECTOR : (i + 1) * _SECTOR])
    fat_sectors = [fat_start + i for i in range(n_fat)]
    for i in range(n_difat):
        listed = fat_sectors[109 + 127 * i : 109 + 127 * (i + 1)]
        following = difat_start + i + 1 if i < n_difat - 1 else _ENDOFCHAIN
        sectors.append(struct.pack("<128I", *listed, *[_FREESECT] * (127 - len(listed)), following))

    difat = fat_sectors[:109] + [_FREESECT] * (109 - min(n_fat, 109))
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII109I",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\x00" * 16, 0x3E, 3, 0xFFFE, 9, 6, b"\x00" * 6,
        0, n_fat, dir_start, 0, _CUTOFF, minifat_start, math.ceil(len(minifat) / 128),
        difat_start if n_difat else _ENDOFCHAIN, n_difat, *difat,
    )  # fmt: skip
    return header + b"".join(sectors)


def _dir_entry(
    name: str, kind: int, start: int, size: int, *, right: int = _NOSTREAM, child: int = _NOSTREAM
) -> bytes:
    encoded = name.encode("utf-16-le")
    name_len = len(encoded) + 2 if name else 0
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        encoded.ljust(64, b"\x00"), name_len, kind, 1, _NOSTREAM, right, child,
        b"\x00" * 16, 0, 0, 0, start, size,
    )  # fmt: skip


def _biff_record(record: int, payload: bytes = b"") -> bytes:
    return struct.pack("<HH", record, len(payload)) + payload


def biff8_workbook(*, filepass: bool = False, pad_to: int = 0) -> bytes:
    """A BIFF8 workbook stream: globals (BOF, [FILEPASS], CODEPAGE, BOUNDSHEET8, EOF) and one worksheet
    with the number 42 in A1. ``pad_to`` adds a trailing filler so the stream leaves the mini stream."""

    def bof(kind: int) -> bytes:
        return _biff_record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0x000040C1, 0x106))

    # RC4 encryption header: version 1.1, salt, encrypted verifier and its hash (values are arbitrary)
    filepass_record = _biff_record(0x002F, struct.pack("<HHH", 1, 1, 1) + bytes(range(48)))
    sheet_name = b"BaoCao"

    def boundsheet(offset: int) -> bytes:  # visible worksheet, compressed (8-bit) name
        return _biff_record(0x0085, struct.pack("<IBBBB", offset, 0, 0, len(sheet_name), 0) + sheet_name)

    head = [bof(0x0005), filepass_record if filepass else b"", _biff_record(0x0042, b"\xb0\x04")]
    sheet_offset = sum(map(len, head)) + len(boundsheet(0)) + len(_biff_record(0x000A))
    sheet = [
        bof(0x0010),
        _biff_record(0x0200, struct.pack("<IIHHH", 0, 1, 0, 1, 0)),  # DIMENSIONS: A1
        _biff_record(0x0203, struct.pack("<HHHd", 0, 0, 0x0F, 42.0)),  # NUMBER: A1 = 42
        _biff_record(0x000A),
    ]
    stream = b"".join([*head, boundsheet(sheet_offset), _biff_record(0x000A), *sheet])
    if len(stream) < pad_to:
        stream += b"\x00" * (pad_to - len(stream))
    return stream


def real_xls(*, macros: bool = False) -> bytes:
    """A legacy .xls: compound file with a 'Workbook' stream (long enough for regular sectors)."""
    streams = {"Workbook": biff8_workbook(pad_to=6000), "\x05SummaryInformation": b"\xfe\xff" + b"\x00" * 46}
    return cfb(streams, {"_VBA_PROJECT_CUR": {"PROJECT": b'Name="VBAProject"\r\n'}} if macros else None)


def small_xls() -> bytes:
    """A .xls whose Workbook stream is short enough to live in the mini stream."""
    return cfb({"Workbook": biff8_workbook()})


def xls_with_filepass() -> bytes:
    """A password-protected .xls: the FILEPASS record follows the globals' BOF."""
    return cfb({"Workbook": biff8_workbook(filepass=True, pad_to=6000)})


def big_xls() -> bytes:
    """An 8 MB .xls (a workbook with pictures): its FAT needs DIFAT sectors beyond the header's 109."""
    return cfb({"Workbook": biff8_workbook(pad_to=8 * MiB)})


def truncated_xls() -> bytes:
    data = real_xls()
    return data[: len(data) // 2]


def ole_encrypted_xlsx() -> bytes:
    """A password-protected .xlsx ([MS-OFFCRYPTO] agile encryption): an OLE file, not a ZIP."""
    info = struct.pack("<HHI", 4, 4, 0x40) + b'<?xml version="1.0" encoding="UTF-8"?><encryption/>'
    package = struct.pack("<Q", 20_000) + bytes((i * 7) % 256 for i in range(6000))
    return cfb(
        {"EncryptionInfo": info, "EncryptedPackage": package}, {"\x06DataSpaces": {"Version": b"\x3c\x00"}}
    )


def word_doc() -> bytes:
    return cfb({"WordDocument": b"\xec\xa5" + b"\x00" * 5000, "1Table": b"\x00" * 600})


def word_doc_with_embedded_sheet() -> bytes:
    """A Word report with an Excel table pasted as an object: a 'Workbook' stream one storage down."""
    streams = {"WordDocument": b"\xec\xa5" + b"\x00" * 5000, "1Table": b"\x00" * 600}
    return cfb(streams, {"ObjectPool": {"Workbook": biff8_workbook(pad_to=5000)}})


# --------------------------------------------------------------------------------------------------
# ZIP bombs, floods, lies
# --------------------------------------------------------------------------------------------------


def ratio_bomb() -> bytes:
    """A 2 MiB shared-strings part of one repeated character: ~1000:1."""
    return rebuild(real_xlsx(), replace={"xl/sharedStrings.xml": b"<sst>" + b"a" * (2 * MiB) + b"</sst>"})


def big_part_bomb(size: int = 65 * MiB) -> bytes:
    """A shared-strings part over the 64 MiB part limit, written in 1 MiB chunks so the test never holds
    it in memory (the file itself is ~300 KB)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in _members(real_xlsx()):
            if name != "xl/sharedStrings.xml":
                archive.writestr(name, data)
        with archive.open("xl/sharedStrings.xml", "w") as part:
            chunk = b"a" * MiB
            for _ in range(size // MiB):
                part.write(chunk)
    return buffer.getvalue()


def lying_sizes() -> bytes:
    """A 4 MiB part that declares 1,000 bytes in both headers: only the streamed pass can tell."""
    data = rebuild(real_xlsx(), replace={"xl/sharedStrings.xml": b"a" * (4 * MiB)})
    return patch_member(data, "xl/sharedStrings.xml", size=1000)


def overlapping_members() -> bytes:
    """The first member's declared data runs over the next member's header (overlapping-files bomb)."""
    name = "[Content_Types].xml"
    data = make_zip(_members(real_xlsx()), stored={name})
    size = len(read_member(data, name)) + 100
    return patch_member(data, name, compressed_size=size, size=size)


def member_flood(count: int = 2001) -> bytes:
    """A workbook padded with tiny members up to ``count`` in all."""
    members = list(_members(real_xlsx()))
    members += [(f"xl/media/x{i}.xml", b"<x/>") for i in range(count - len(members))]
    return make_zip(members)


def dimension_bomb(ref: bytes = b"A1:XFD1048576") -> bytes:
    """A sheet that declares the whole grid (notes §0.2: 1.6 KB → MemoryError in pandas)."""
    sheet = read_member(real_xlsx(), "xl/worksheets/sheet1.xml")
    sheet = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="' + ref + b'"/>', sheet, count=1)
    return rebuild(real_xlsx(), replace={"xl/worksheets/sheet1.xml": sheet})


def renamed_sheet(sheet: bytes | None = None) -> bytes:
    """The first sheet stored as 'xl/data/s1.bin', found through the relationships as Excel, openpyxl
    and calamine all do: a part's name says nothing about whether a parser reads it as XML."""
    base = real_xlsx()
    renames = {
        "xl/_rels/workbook.xml.rels": (b"worksheets/sheet1.xml", b"data/s1.bin"),
        "[Content_Types].xml": (b'PartName="/xl/worksheets/sheet1.xml"', b'PartName="/xl/data/s1.bin"'),
    }
    members = []
    for name, data in _members(base):
        if name == "xl/worksheets/sheet1.xml":
            name, data = "xl/data/s1.bin", sheet if sheet is not None else data
        elif name in renames:
            data = data.replace(*renames[name])
        members.append((name, data))
    return make_zip(members)


def renamed_dimension_bomb() -> bytes:
    return renamed_sheet(read_member(dimension_bomb(), "xl/worksheets/sheet1.xml"))


def renamed_xxe() -> bytes:
    return renamed_sheet(read_member(xxe(), "xl/worksheets/sheet1.xml"))


# --------------------------------------------------------------------------------------------------
# XML entities
# --------------------------------------------------------------------------------------------------

_SST_NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def billion_laughs() -> bytes:
    entities = b'<!ENTITY lol0 "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10) for i in range(1, 10)
    )
    sst = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!DOCTYPE sst [' + entities + b"]>\n"
        b"<sst " + _SST_NS + b' count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
    )
    return rebuild(real_xlsx(), replace={"xl/sharedStrings.xml": sst})


def xxe() -> bytes:
    sheet = read_member(real_xlsx(), "xl/worksheets/sheet1.xml")
    declaration, rest = sheet.split(b"\n", 1)
    doctype = b'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return rebuild(real_xlsx(), replace={"xl/worksheets/sheet1.xml": declaration + b"\n" + doctype + rest})


def doctype_after_long_comment() -> bytes:
    """A comment longer than the 4 KB head pushes the DOCTYPE out of view."""
    sst = read_member(real_xlsx(), "xl/sharedStrings.xml")
    declaration, rest = sst.split(b"\n", 1)
    hidden = b"<!--" + b" " * 6000 + b'-->\n<!DOCTYPE sst [<!ENTITY a "b">]>\n'
    return rebuild(real_xlsx(), replace={"xl/sharedStrings.xml": declaration + b"\n" + hidden + rest})


def utf16_doctype() -> bytes:
    """The same DOCTYPE in a UTF-16 part, which expat accepts and a byte search for ASCII misses."""
    text = '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE sst [<!ENTITY a "b">]>\n<sst><si><t>&a;</t></si></sst>'
    return rebuild(real_xlsx(), replace={"xl/sharedStrings.xml": text.encode("utf-16")})


# --------------------------------------------------------------------------------------------------
# Archive-level tricks
# --------------------------------------------------------------------------------------------------


def duplicate_members() -> bytes:
    """Two xl/worksheets/sheet1.xml: openpyxl and pandas read the last one (notes §0.6)."""
    base = real_xlsx()
    second = read_member(base, "xl/worksheets/sheet1.xml").replace(b"<v>3</v>", b"<v>999</v>")
    return make_zip([*_members(base), ("xl/worksheets/sheet1.xml", second)])


def case_duplicate_members() -> bytes:
    """Same part under another case: OPC part names are case-insensitive."""
    base = real_xlsx()
    return make_zip(
        [*_members(base), ("XL/Worksheets/Sheet1.xml", read_member(base, "xl/worksheets/sheet1.xml"))]
    )


def zip_encrypted_member() -> bytes:
    """ZIP-level (PKWARE) encryption flag on one member, in the local and the central header."""
    return patch_member(real_xlsx(), "xl/worksheets/sheet1.xml", flags_or=0x1)


def bzip2_member() -> bytes:
    """A method Excel never writes (bzip2); zipfile reads it, Excel does not."""
    members = list(_members(real_xlsx()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            method = zipfile.ZIP_BZIP2 if name == "xl/sharedStrings.xml" else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compress_type=method)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------------
# ZIP helpers
# --------------------------------------------------------------------------------------------------

_FIXED_TIME = datetime.datetime(2025, 1, 1)


def make_zip(members: Iterable[tuple[str, bytes]], stored: Iterable[str] = ()) -> bytes:
    """A ZIP of the members in order; duplicate names are written as given (zipfile warns, we mean it)."""
    stored = set(stored)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in members:
                info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
    return buffer.getvalue()


def _members(data: bytes) -> Iterable[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def read_member(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(name)


def rebuild(
    data: bytes, replace: dict[str, bytes] | None = None, add: Iterable[tuple[str, bytes]] = ()
) -> bytes:
    replace = replace or {}
    members = [(name, replace.get(name, content)) for name, content in _members(data)]
    return make_zip([*members, *add])


def central_entries(data: bytes) -> dict[str, int]:
    """Offsets of the central-directory headers, by name."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        offset = archive.start_dir
        count = len(archive.infolist())
    found = {}
    for _ in range(count):
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, offset + 28)
        found[data[offset + 46 : offset + 46 + name_len].decode("utf-8")] = offset
        offset += 46 + name_len + extra_len + comment_len
    return found


def _member_data_span(data: bytes, name: str) -> tuple[int, int]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    return info.header_offset + 30 + name_len + extra_len, info.compress_size


def patch_member(
    data: bytes,
    name: str,
    *,
    flags_or: int = 0,
    crc: int | None = None,
    size: int | None = None,
    compressed_size: int | None = None,
) -> bytes:
    """Rewrite fields of one member in both its local and its central header."""
    out = bytearray(data)
    central = central_entries(data)[name]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        local = archive.getinfo(name).header_offset
    for header, flags_at, crc_at in ((local, 6, 14), (central, 8, 16)):
        struct.pack_into(
            "<H", out, header + flags_at, struct.unpack_from("<H", out, header + flags_at)[0] | flags_or
        )
        if crc is not None:
            struct.pack_into("<I", out, header + crc_at, crc)
        if compressed_size is not None:
            struct.pack_into("<I", out, header + crc_at + 4, compressed_size)
        if size is not None:
            struct.pack_into("<I", out, header + crc_at + 8, size)
    return bytes(out)
