"""The frame of an official document (Joint Circular 55/2005/TTLT-BNV-VPCP): its words, derived from the spec
and the registry, for every stage that prints a document (the template's sheets here; the summary, its print
set and the draft report in pipeline/report/frame.py).

- the two-column header: the governing body over the issuing unit on the left, the national name over the
  motto on the right;
- "Biểu số 01…": each form sheet's number, in sheet order;
- the place-and-date line ("Hà Tĩnh, ngày …… tháng …… năm 2007"), day and month left for the signer;
- the signature blocks: the preparer on the left, the head of the unit on the right.

Only words here (no workbook code).
"""

from __future__ import annotations

import datetime as dt

from pipeline.form.spec import FormSpec

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
PREPARER = "NGƯỜI LẬP BIỂU"
PREPARER_NOTE = "(Ký, ghi rõ họ tên)"
HEAD = "THỦ TRƯỞNG ĐƠN VỊ"
SIGNER_NOTE = "(Ký tên, đóng dấu)"
BLANK_DAY = "……"  # the day and month a signer writes by hand
BLANK_UNIT = "TÊN CƠ QUAN, ĐƠN VỊ: ………"  # the blank template's issuing unit


def governing_body(spec: FormSpec) -> str:
    """"UBND TỈNH HÀ TĨNH": the body every agency of the round answers to, over its name."""
    province = str(spec.form.get("province_vi") or "")
    return str(spec.form.get("governing_body_vi") or f"UBND tỉnh {province}".strip()).upper()


def unit_name(name: str | None) -> str:
    """An agency's name as the header writes it ("UBND HUYỆN NGHI XUÂN"), or the blank's dotted line."""
    return name.upper() if name else BLANK_UNIT


def signing_year(spec: FormSpec) -> str:
    """The year agencies sign their returns in: the deadline's (a report on 2008 is signed in January 2009),
    else the year the form is issued in."""
    deadline = spec.form.get("deadline")
    if isinstance(deadline, dt.date):
        return str(deadline.year)
    return str(spec.form.get("issue_year") or "")


def date_line(place: str, year: int | str) -> str:
    """"Hà Tĩnh, ngày …… tháng …… năm 2007": day and month are written when the document is signed."""
    return f"{place}, ngày {BLANK_DAY} tháng {BLANK_DAY} năm {year}"


def place(spec: FormSpec) -> str:
    return str(spec.form.get("place_vi") or spec.form.get("province_vi") or "")


def sheet_number(spec: FormSpec, sheet_id: str) -> str:
    """"Biểu số 01" for the first sheet of the form, in sheet order (the instructions are not numbered)."""
    index = [s.id for s in spec.sheets].index(sheet_id) + 1
    return f"Biểu số {index:02d}"
