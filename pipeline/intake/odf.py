"""OpenDocument spreadsheets as calamine reads them: an .ods's content.xml without the indentation some
programs write, and a flat ODF file (.fods, the whole document in one XML file) as the .ods package it stands
for.

calamine's ODF reader accepts nothing but cells between a row's tags and keeps every text inside a cell, so
markup indented for reading ("pretty-printed") fails or changes values: gnumeric (`ssconvert`, ODF 1.2
extended and strict) indents content.xml, and every one of its .ods files was FILE_CORRUPT ("Expecting
'table-cell', found Text"); LibreOffice indents its .fods files, whose string cells would then begin with
"\\n      ". Whitespace between those elements is not content in ODF (table rows and cells hold elements
only; a cell's text is in its paragraphs), so the parser's copy drops it there and only there: never inside a
paragraph, where a space between two spans is text.

Stdlib only; the callers (the preflight) have already refused DTDs, entities and oversize input.
"""

from __future__ import annotations

import io
import re
import zipfile

__all__ = ["MIMETYPE", "declares_spreadsheet", "has_macros", "package", "without_indentation"]

MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"

# Whitespace right before a table element's tag (open or close), or before a cell's paragraph, heading or list:
# always between elements of element-only content. Paragraph content (text:span, text:s, text:a…) is not here.
_INDENTATION = re.compile(rb">[ \t\r\n]+<(?=/?table:|text:(?:p|h|list)[\s/>])")
# A flat ODF document's root element names its type: <office:document … office:mimetype="…spreadsheet">
_ROOT = re.compile(rb"<office:document\b[^>]*\boffice:mimetype\s*=\s*[\"']([^\"']*)[\"']")
_ROOT_SEARCH = 64 * 1024  # the root tag's namespace declarations take ~3 KB; the mimetype is among its attributes
# A flat ODF document's Basic modules are embedded in <office:scripts> (ooo:library-embedded, ooo:module)
_BASIC_MODULE = (b"<ooo:module", b":library-embedded")
_MANIFEST = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    b'<manifest:file-entry manifest:full-path="/" manifest:media-type="' + MIMETYPE + b'"/>'
    b'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    b"</manifest:manifest>"
)


def without_indentation(content: bytes) -> bytes:
    """ODF markup less the whitespace between table elements and before a cell's paragraphs (the same
    object when there is none: LibreOffice's .ods content.xml is one line)."""
    return _INDENTATION.sub(b"><", content)


def declares_spreadsheet(head: bytes) -> bool:
    """Whether XML text (its first bytes, as ASCII-compatible markup) is a flat ODF spreadsheet."""
    match = _ROOT.search(head, 0, _ROOT_SEARCH)
    return match is not None and match.group(1).strip() == MIMETYPE


def has_macros(flat: bytes) -> bool:
    """A flat ODF document that embeds LibreOffice Basic modules (never run, never copied)."""
    return any(marker in flat for marker in _BASIC_MODULE)


def package(flat: bytes) -> bytes:
    """The .ods package (stored, uncompressed) that a flat ODF document stands for, for calamine: the whole
    document as content.xml (calamine looks for its styles, tables and named ranges wherever they are, and
    office:document holds what office:document-content does), with the mimetype and manifest it checks."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("mimetype", MIMETYPE)
        archive.writestr("META-INF/manifest.xml", _MANIFEST)
        archive.writestr("content.xml", without_indentation(flat))
    return out.getvalue()
