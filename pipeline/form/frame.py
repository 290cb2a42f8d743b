"""The frame of an official document (Joint Circular 55/2005/TTLT-BNV-VPCP), derived from the spec and the
registry: what the template's printed sheets, the summary and the draft report put around their content.

- the two-column header: the governing body over the issuing unit on the left, the national name over the
  motto on the right;
- "Biểu số 01…": each form sheet's number, in sheet order;
- the place-and-date line ("Hà Tĩnh, ngày … tháng … năm 2007");
- the signature blocks: the preparer on the left, the head of the unit on the right.

Only data here (no workbook code): every stage that prints a document takes its words from one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.form.registry import Agency
from pipeline.form.spec import FormSpec

NATION_VI = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_VI = "Độc lập - Tự do - Hạnh phúc"
PREPARER_VI, PREPARER_NOTE_VI = "NGƯỜI LẬP BIỂU", "(Ký, ghi rõ họ tên)"
HEAD_VI, HEAD_NOTE_VI = "THỦ TRƯỞNG ĐƠN VỊ", "(Ký tên, đóng dấu)"
BLANK = "…"


@dataclass(frozen=True)
class DocumentFrame:
    governing_body: str  # "UBND TỈNH HÀ TĨNH"
    unit: str  # "SỞ TÀI CHÍNH", "UBND HUYỆN NGHI XUÂN", or dots in the blank template
    nation: str
    motto: str
    place_date: str  # "Hà Tĩnh, ngày … tháng … năm 2007"
    preparer: tuple[str, str]  # (title, note) of the left signature block
    signer: tuple[str, str]  # (title, note) of the right signature block


def upper_vi(text: str) -> str:
    """Upper case as Vietnamese headers write it ("Sở Tài chính" → "SỞ TÀI CHÍNH")."""
    return text.upper()


def place_date(spec: FormSpec, day: int | None = None, month: int | None = None) -> str:
    """The place-and-date line; day and month left as dots for the signer to fill in."""
    place = str(spec.form.get("place_vi") or spec.form.get("province_vi") or "")
    year = spec.form.get("issue_year") or ""
    shown_day = f"{day:02d}" if day else BLANK
    shown_month = f"{month:02d}" if month else BLANK
    return f"{place}, ngày {shown_day} tháng {shown_month} năm {year}"


def agency_frame(spec: FormSpec, agency: Agency | None) -> DocumentFrame:
    """The frame of an agency's return: its governing body (the province) over its own name."""
    unit = upper_vi(agency.name_vi) if agency is not None else "TÊN CƠ QUAN, ĐƠN VỊ: " + BLANK * 3
    return DocumentFrame(upper_vi(str(spec.form.get("governing_body_vi", ""))), unit, NATION_VI, MOTTO_VI,
                         place_date(spec), (PREPARER_VI, PREPARER_NOTE_VI), (HEAD_VI, HEAD_NOTE_VI))


def issuer_frame(spec: FormSpec) -> DocumentFrame:
    """The frame of the Department's own documents (the summary, the report): signed by its director."""
    issuer = str(spec.form.get("issuer_short_vi") or spec.form.get("issuer_vi") or "")
    signer = str(spec.form.get("issuer_signer_vi") or "Giám đốc")
    return DocumentFrame(upper_vi(str(spec.form.get("governing_body_vi", ""))), upper_vi(issuer), NATION_VI,
                         MOTTO_VI, place_date(spec), (PREPARER_VI, PREPARER_NOTE_VI), (upper_vi(signer), ""))


def sheet_number(spec: FormSpec, sheet_id: str) -> str:
    """"Biểu số 01" for the first sheet of the form, in sheet order (the instructions are not numbered)."""
    index = [s.id for s in spec.sheets].index(sheet_id) + 1
    return f"Biểu số {index:02d}"
