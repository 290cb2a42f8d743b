"""The frame of an official document (Joint Circular 55/2005/TTLT-BNV-VPCP), shared by the printed sheets of
the summary workbook and the draft provincial report: the two-column header (governing body over the
issuing department; the national motto), the place-and-date line, the signature blocks and the
recipients. Its words come from the form spec (`form:`), the motto is the State's own.

Also here: Vietnamese numbers and dates in running text ("1.388,5", "ngày 17 tháng 8 năm 2007"), which the
report writes and the printed sheets' notes use.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from pipeline.form.frame import (
    BLANK_DAY,
    MOTTO,
    NATION,
    PREPARER,
    PREPARER_NOTE,
    SIGNER_NOTE,
    date_line,
    governing_body,
)
from pipeline.form.frame import place as frame_place
from pipeline.form.spec import FormSpec

__all__ = ["MOTTO", "NATION", "PREPARER", "PREPARER_NOTE", "SIGNER_NOTE", "Frame", "frame_for"]


@dataclass(frozen=True)
class Frame:
    """The words of the frame, in the case they are printed in."""

    governing: str  # "UBND TỈNH HÀ TĨNH"
    issuer: str  # "SỞ BƯU CHÍNH, VIỄN THÔNG"
    issuer_name: str  # "Sở Bưu chính, Viễn thông Hà Tĩnh", in running text
    place: str  # "Hà Tĩnh"
    signer: str  # "GIÁM ĐỐC"
    symbol: str  # "BC-SBCVT": the report's number is "Số: …/BC-SBCVT"
    recipients: tuple[str, ...]

    def date_line(self, year: int) -> str:
        return date_line(self.place, year)

    def number_line(self) -> str:
        return f"Số: {BLANK_DAY}/{self.symbol}"


def frame_for(spec: FormSpec) -> Frame:
    """The Department's frame from the spec's `form:` entries (governing_body_vi, issuer_short_vi,
    issuer_signer_vi, issuer_symbol, place_vi, recipients_vi); what a spec leaves out is derived from the
    issuer's and the province's names ("Sở Bưu chính, Viễn thông Hà Tĩnh" → "SỞ BƯU CHÍNH, VIỄN THÔNG")."""
    form: dict[str, Any] = spec.form
    province = str(form.get("province_vi") or "")
    issuer_name = str(form.get("issuer_vi") or "")
    short = issuer_name.removesuffix(province).strip() if province else issuer_name
    initials = "".join(word[0] for word in _ascii(short).replace(",", " ").split() if word[:1].isalpha())
    return Frame(
        governing=governing_body(spec), issuer=str(form.get("issuer_short_vi") or short).upper(),
        issuer_name=issuer_name, place=frame_place(spec),
        signer=str(form.get("issuer_signer_vi") or "Giám đốc").upper(),
        symbol=f"BC-{form.get('issuer_symbol') or initials.upper()}",
        recipients=tuple(form.get("recipients_vi") or (
            f"UBND tỉnh {province} (để báo cáo);" if province else "UBND tỉnh (để báo cáo);",
            f"{ministry_name(spec)} (để báo cáo);", "Các sở, ban, ngành; UBND các huyện, thị xã, thành phố;",
            "Lưu: VT, CNTT.")),
    )


DEPARTMENT, MINISTRY = "Sở ", "Bộ "  # a province's department of a sector, the ministry of that sector


def ministry_name(spec: FormSpec) -> str:
    """The ministry the round's department reports to: the spec's `national_body_vi` where the two differ in
    name ("Bộ Thông tin và Truyền thông" since August 2007, while Hà Tĩnh's department stayed "Sở Bưu chính,
    Viễn thông" until 2008), else the department's sector ("Sở X" → "Bộ X")."""
    given = str(spec.form.get("national_body_vi") or "")
    if given:
        return given
    department = str(spec.form.get("issuer_short_vi") or "")
    return MINISTRY + department.removeprefix(DEPARTMENT) if department.startswith(DEPARTMENT) else department


def _ascii(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d")).encode("ascii", "ignore").decode()


# --------------------------------------------------------------------------------------------------------
# Numbers and dates in Vietnamese running text


def number_vi(value: Any, decimals: int | None = None, *, fixed: bool = False) -> str:
    """1500 → "1.500", 1388.5 → "1.388,5"; at most `decimals` decimals (default: 1 if the value has any, and
    2 for values under 10 such as ratios), trailing zeros dropped unless `fixed` (a table's money column:
    "1.271,0" under "1.388,5"); blank → "–"."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    number = float(value)
    if decimals is None:
        decimals = 2 if abs(number) < 10 else 1
    text = f"{number:,.{decimals}f}"
    if "." in text and not fixed:
        text = text.rstrip("0").rstrip(".")
    return text.translate(str.maketrans(",.", ".,"))


def date_vi(value: dt.date | dt.datetime | None) -> str:
    """dd/mm/yyyy, or "–"."""
    return value.strftime("%d/%m/%Y") if value is not None else "–"


def long_date_vi(value: dt.date) -> str:
    """"ngày 17 tháng 8 năm 2007": as official documents write dates, a day under 10 and the months 1 and 2
    with a leading zero ("ngày 05 tháng 02 năm 2008")."""
    month = f"{value.month:02d}" if value.month < 3 else str(value.month)
    return f"ngày {value.day:02d} tháng {month} năm {value.year}"
