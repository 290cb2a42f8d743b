"""Tests for pipeline.normalize: one raw cell value → typed value + note keys."""

from __future__ import annotations

import dataclasses
import unicodedata
from datetime import date, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pipeline.normalize import (
    Parsed,
    clean_text,
    detect_legacy,
    is_blank,
    normalize_key,
    parse_bool,
    parse_date,
    parse_number,
    parse_year,
    tcvn3_to_unicode,
    unicode_to_tcvn3,
    unicode_to_vni,
    vni_to_unicode,
)

NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731


# ---------------------------------------------------------------------------------------------------
# Parsed
# ---------------------------------------------------------------------------------------------------


def test_parsed_is_frozen_with_defaults() -> None:
    p = Parsed(1, True)
    assert p.notes == () and p.detail == ""
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.value = 2  # type: ignore[misc]
    assert not hasattr(p, "__dict__")  # slots


# ---------------------------------------------------------------------------------------------------
# parse_number
# ---------------------------------------------------------------------------------------------------

NUMBER_CASES = [
    # raw, expected value, ok, notes
    (12.5, 12.5, True, ()),
    (0.0, 0.0, True, ()),
    (-3.0, -3.0, True, ()),
    (7, 7, True, ()),
    (-2, -2, True, ()),
    ("", None, True, ()),
    ("   ", None, True, ()),
    ("\u00a0", None, True, ()),
    ("\u200b", None, True, ()),
    (None, None, True, ()),
    ("42", 42, True, ()),
    (" 42 ", 42, True, ()),
    ("0", 0, True, ()),
    ("1.500", 1500, True, ()),
    ("1.234.567", 1234567, True, ()),
    ("80.000", 80000, True, ()),
    ("12,5", 12.5, True, ()),
    ("1,25", 1.25, True, ()),
    ("0,5", 0.5, True, ()),
    ("0,500", 0.5, True, ()),  # US grouping never starts with 0: not ambiguous
    ("1234,567", 1234.567, True, ()),
    ("12,3456", 12.3456, True, ()),
    (",5", 0.5, True, ()),
    ("1,500", 1.5, True, ("ambiguous",)),
    ("999,999", 999.999, True, ("ambiguous",)),
    ("1,234,567", 1234567, True, ("us_format",)),
    ("1.234.567,5", 1234567.5, True, ()),
    ("1.234,56", 1234.56, True, ()),
    ("1,234,567.5", 1234567.5, True, ("us_format",)),
    ("1,234.5", 1234.5, True, ("us_format",)),
    ("12.5", 12.5, True, ()),
    ("0.5", 0.5, True, ()),
    ("0.500", 0.5, True, ()),
    ("1.5E+03", 1500.0, True, ()),
    ("(1.234)", -1234, True, ()),
    ("( 12,5 )", -12.5, True, ()),
    ("-5", -5, True, ()),
    ("- 5", -5, True, ()),
    ("\u22125", -5, True, ()),
    ("\u20135", -5, True, ()),
    ("+7", 7, True, ()),
    ("-1.500", -1500, True, ()),
    ("1 200", 1200, True, ()),
    ("1\u00a0200", 1200, True, ()),
    ("1\u202f200", 1200, True, ()),
    ("1\u2009200", 1200, True, ()),
    ("1 234 567,5", 1234567.5, True, ()),
    ("12\u200b34", 1234, True, ()),
    ("-", 0, True, ("placeholder",)),
    ("–", 0, True, ("placeholder",)),
    ("—", 0, True, ("placeholder",)),
    ("---", 0, True, ("placeholder",)),
    ("x", 0, True, ("placeholder",)),
    ("X", 0, True, ("placeholder",)),
    ("không", 0, True, ("placeholder",)),
    ("Không", 0, True, ("placeholder",)),
    ("KHÔNG", 0, True, ("placeholder",)),
    ("chưa có", 0, True, ("placeholder",)),
    ("Chưa  có", 0, True, ("placeholder",)),
    ("chưa", 0, True, ("placeholder",)),
    (NFD("chưa có"), 0, True, ("placeholder",)),
    ("kh«ng", 0, True, ("placeholder",)),  # TCVN3
    ("ch\u00ada cã", 0, True, ("placeholder",)),  # TCVN3 "chưa có"
    ("khoâng", 0, True, ("placeholder",)),  # VNI
    ("1.2,5", None, False, ("not_a_number",)),
    ("1,2.5", None, False, ("not_a_number",)),
    ("1.23.4", None, False, ("not_a_number",)),
    ("1,23,456", None, False, ("not_a_number",)),
    ("1.234,567.8", None, False, ("not_a_number",)),
    ("12abc", None, False, ("not_a_number",)),
    ("1 2", None, False, ("not_a_number",)),
    ("5.", None, False, ("not_a_number",)),
    ("(5", None, False, ("not_a_number",)),
    ("abc", None, False, ("not_a_number",)),
    ("khoảng 50", None, False, ("not_a_number",)),
    ("1.500.000đ", None, False, ("not_a_number",)),
    ("١٢", None, False, ("not_a_number",)),  # Arabic-Indic digits are not accepted
    (True, None, False, ("bool_as_number",)),
    (False, None, False, ("bool_as_number",)),
    (float("nan"), None, False, ("not_a_number",)),
    (float("inf"), None, False, ("not_a_number",)),
    (float("-inf"), None, False, ("not_a_number",)),
    (date(2007, 10, 15), None, False, ("not_a_number",)),
    (datetime(2007, 10, 15, 8, 0), None, False, ("not_a_number",)),
]


@pytest.mark.parametrize(("raw", "value", "ok", "notes"), NUMBER_CASES)
def test_parse_number(raw: object, value: object, ok: bool, notes: tuple[str, ...]) -> None:
    p = parse_number(raw)
    assert (p.value, p.ok, p.notes) == (value, ok, notes)
    if value is not None:
        assert type(p.value) is type(value)


def test_ambiguous_number_detail_names_the_other_reading() -> None:
    p = parse_number("1,500")
    assert p.value == 1.5 and "1500" in p.detail
    assert "-1500" in parse_number("-1,500").detail


def test_text_without_fraction_is_int_with_fraction_float() -> None:
    assert type(parse_number("1.500").value) is int
    assert type(parse_number("12,0").value) is float


@pytest.mark.parametrize(
    ("raw", "value", "notes"),
    [
        ("85%", 85, ()),
        ("85 %", 85, ()),
        ("85,5%", 85.5, ()),
        ("85.5 %", 85.5, ()),
        ("0,5%", 0.5, ()),  # an explicit % sign is never rescaled
        ("100%", 100, ()),
        ("(5%)", -5, ()),
        (0.85, 85.0, ("fraction_as_percent",)),
        (0.5, 50.0, ("fraction_as_percent",)),
        (0.001, 0.1, ("fraction_as_percent",)),
        ("0,85", 85.0, ("fraction_as_percent",)),
        (1.0, 1.0, ("ambiguous_percent",)),
        (1, 1, ("ambiguous_percent",)),
        ("1", 1, ("ambiguous_percent",)),
        (85.0, 85.0, ()),
        (85, 85, ()),
        (0, 0, ()),
        (0.0, 0.0, ()),
        (1.5, 1.5, ()),
        ("-", 0, ("placeholder",)),
    ],
)
def test_parse_number_percent(raw: object, value: object, notes: tuple[str, ...]) -> None:
    p = parse_number(raw, percent=True)
    assert p.ok and p.value == value and p.notes == notes


def test_fraction_as_percent_has_no_float_noise() -> None:
    assert parse_number(0.85, percent=True).value == 85.0
    assert parse_number(0.29, percent=True).value == 29.0
    assert parse_number(0.575, percent=True).value == 57.5


def test_percent_sign_where_number_asked_is_rejected() -> None:
    p = parse_number("85%")
    assert (p.value, p.ok, p.notes) == (None, False, ("unexpected_percent",))
    assert "85" in p.detail


@pytest.mark.parametrize("raw", ["-", "–", "x", "X", "không", "Không", "chưa có", "chưa"])
def test_placeholders_rejected_when_not_zero(raw: str) -> None:
    p = parse_number(raw, placeholders_zero=False)
    assert (p.value, p.ok, p.notes) == (None, False, ("placeholder",))


def test_zero_is_a_number_not_a_placeholder() -> None:
    assert parse_number("0", placeholders_zero=False) == Parsed(0, True)


@pytest.mark.parametrize(
    ("raw", "value", "ok", "notes"),
    [
        (12.0, 12, True, ()),
        (12, 12, True, ()),
        ("1.500", 1500, True, ()),
        ("12,0", 12, True, ()),
        (12.5, None, False, ("not_integer",)),
        ("12,5", None, False, ("not_integer",)),
        ("1,500", None, False, ("ambiguous", "not_integer")),
        ("-", 0, True, ("placeholder",)),
        ("", None, True, ()),
    ],
)
def test_parse_number_integer(raw: object, value: object, ok: bool, notes: tuple[str, ...]) -> None:
    p = parse_number(raw, integer=True)
    assert (p.value, p.ok, p.notes) == (value, ok, notes)
    if value is not None:
        assert type(p.value) is int


def test_integer_and_percent_combine() -> None:
    assert parse_number(0.85, integer=True, percent=True) == Parsed(85, True, ("fraction_as_percent",))
    p = parse_number(0.855, integer=True, percent=True)
    assert not p.ok and "not_integer" in p.notes and p.detail == "85.5"


def test_not_integer_detail_shows_value() -> None:
    assert parse_number(12.5, integer=True).detail == "12.5"


def _vn_grouped(n: int) -> str:
    return f"{n:,}".replace(",", ".")


@given(st.integers(min_value=0, max_value=10**13))
def test_vn_grouped_integers_round_trip(n: int) -> None:
    p = parse_number(_vn_grouped(n))
    assert p == Parsed(n, True)
    assert parse_number(f"({_vn_grouped(n)})").value == -n
    assert parse_number(f"{n:,}".replace(",", " ")).value == n


@given(st.integers(min_value=0, max_value=10**12), st.from_regex(r"[0-9]{1,4}", fullmatch=True))
def test_vn_decimals_round_trip(n: int, frac: str) -> None:
    p = parse_number(f"{_vn_grouped(n)},{frac}")
    assert p.ok and p.value == float(f"{n}.{frac}")


@given(st.integers(min_value=1_000_000, max_value=10**13))
def test_us_grouping_with_two_groups_is_thousands(n: int) -> None:
    assert parse_number(f"{n:,}") == Parsed(n, True, ("us_format",))


@given(st.integers(min_value=1000, max_value=999_999))
def test_single_comma_group_takes_vn_decimal_reading(n: int) -> None:
    p = parse_number(f"{n:,}")
    assert p.ok and p.notes == ("ambiguous",)
    assert p.value == pytest.approx(n / 1000)
    assert str(n) in p.detail


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_finite_floats_accepted_as_is(x: float) -> None:
    assert parse_number(x) == Parsed(x, True)


@given(st.floats(min_value=0, max_value=1, exclude_min=True, exclude_max=True))
def test_percent_fractions_are_scaled(x: float) -> None:
    p = parse_number(x, percent=True)
    assert p.ok and p.notes == ("fraction_as_percent",)
    assert p.value == pytest.approx(x * 100, rel=1e-9, abs=1e-9)
    assert 0 <= p.value <= 100


# ---------------------------------------------------------------------------------------------------
# parse_bool
# ---------------------------------------------------------------------------------------------------

TRUE_SPELLINGS = ["có", "Có", "CÓ", " có ", NFD("có"), "x", "X", "✓", "✔", "1", 1, 1.0, True, "yes", "Yes",
                  "đã có", "Đã có", "rồi", "cã", "coù"]  # the last two: TCVN3 and VNI "có"
FALSE_SPELLINGS = ["không", "Không", "KHÔNG", "-", "–", "0", 0, 0.0, False, "no", "chưa", "chưa có",
                   "Chưa có", "không có", "kh«ng", "khoâng"]


@pytest.mark.parametrize("raw", TRUE_SPELLINGS)
def test_parse_bool_true(raw: object) -> None:
    assert parse_bool(raw) == Parsed(True, True)


@pytest.mark.parametrize("raw", FALSE_SPELLINGS)
def test_parse_bool_false(raw: object) -> None:
    assert parse_bool(raw) == Parsed(False, True)


@pytest.mark.parametrize("raw", ["", "  ", "\u00a0", None])
def test_parse_bool_blank(raw: object) -> None:
    assert parse_bool(raw) == Parsed(None, True)


@pytest.mark.parametrize("raw", ["có thể", "maybe", "2", 2, 0.5, "xx", date(2007, 1, 1)])
def test_parse_bool_rejects(raw: object) -> None:
    assert parse_bool(raw) == Parsed(None, False, ("not_a_bool",))


# ---------------------------------------------------------------------------------------------------
# parse_date
# ---------------------------------------------------------------------------------------------------

OCT15 = date(2007, 10, 15)

DATE_CASES = [
    (OCT15, OCT15, True, ()),
    (datetime(2007, 10, 15, 8, 30), OCT15, True, ()),
    (39370, OCT15, True, ("serial",)),
    (39370.0, OCT15, True, ("serial",)),
    (39370.75, OCT15, True, ("serial",)),  # time of day dropped
    (1, date(1900, 1, 1), True, ("serial",)),
    (59, date(1900, 2, 28), True, ("serial",)),
    (61, date(1900, 3, 1), True, ("serial",)),
    (2958465, date(9999, 12, 31), True, ("serial",)),
    (60, None, False, ("not_a_date",)),  # Excel's phantom 29/02/1900
    (0, None, False, ("not_a_date",)),
    (-5, None, False, ("not_a_date",)),
    (2958466, None, False, ("not_a_date",)),
    (2007, None, False, ("year_only",)),
    (2007.0, None, False, ("year_only",)),
    (float("nan"), None, False, ("not_a_date",)),
    (True, None, False, ("not_a_date",)),
    ("", None, True, ()),
    ("  ", None, True, ()),
    (None, None, True, ()),
    ("15/10/2007", OCT15, True, ()),
    ("15/10/2007 ", OCT15, True, ()),
    ("05/10/2007", date(2007, 10, 5), True, ()),  # always day-first, never May 10
    ("5/1/2007", date(2007, 1, 5), True, ()),
    ("15-10-2007", OCT15, True, ()),
    ("15.10.2007", OCT15, True, ()),
    ("15/10/2007 08:30", OCT15, True, ()),
    ("15/10/07", OCT15, True, ("two_digit_year",)),
    ("1/1/99", date(1999, 1, 1), True, ("two_digit_year",)),
    ("1/1/29", date(2029, 1, 1), True, ("two_digit_year",)),
    ("1/1/30", date(1930, 1, 1), True, ("two_digit_year",)),
    ("2007-10-15", OCT15, True, ()),
    ("2007-10-15 00:00:00", OCT15, True, ()),
    ("2007-10-15T00:00:00", OCT15, True, ()),
    ("ngày 15 tháng 10 năm 2007", OCT15, True, ()),
    ("Ngày 15 tháng 10 năm 2007", OCT15, True, ()),
    ("NGÀY 15 THÁNG 10 NĂM 2007", OCT15, True, ()),
    ("Hà Tĩnh, ngày 15 tháng 10 năm 2007", OCT15, True, ()),
    ("Hà Tĩnh, ngày 5 tháng 3 năm 2008.", date(2008, 3, 5), True, ()),
    ("Hà Tĩnh, ngày  15  tháng 10  năm 2007", OCT15, True, ()),
    (NFD("Hà Tĩnh, ngày 15 tháng 10 năm 2007"), OCT15, True, ()),
    ("ngay 15 thang 10 nam 2007", OCT15, True, ()),
    ("15 tháng 10 năm 2007", OCT15, True, ()),
    ("Hµ TÜnh, ngµy 15 th¸ng 10 n¨m 2007", OCT15, True, ()),  # TCVN3
    ("Haø Tónh, ngaøy 15 thaùng 10 naêm 2007", OCT15, True, ()),  # VNI
    ("Hà Tĩnh, 15/10/2007", OCT15, True, ()),
    ("ngày 15/10/2007", OCT15, True, ()),
    ("31/02/2007", None, False, ("not_a_date",)),
    ("29/02/2007", None, False, ("not_a_date",)),
    ("29/02/2008", date(2008, 2, 29), True, ()),
    ("00/10/2007", None, False, ("not_a_date",)),
    ("ngày 31 tháng 4 năm 2007", None, False, ("not_a_date",)),
    ("15/10-2007", None, False, ("not_a_date",)),
    ("15/10/2007 - 20/10/2007", None, False, ("not_a_date",)),
    ("tháng 10 năm 2007", None, False, ("not_a_date",)),
    ("2007", None, False, ("year_only",)),
    ("abc", None, False, ("not_a_date",)),
    ("15/10", None, False, ("not_a_date",)),
]


@pytest.mark.parametrize(("raw", "value", "ok", "notes"), DATE_CASES)
def test_parse_date(raw: object, value: object, ok: bool, notes: tuple[str, ...]) -> None:
    p = parse_date(raw)
    assert (p.value, p.ok, p.notes) == (value, ok, notes)


def test_month_first_hint_in_detail() -> None:
    p = parse_date("10/15/2007")
    assert not p.ok and p.notes == ("not_a_date",)
    assert "2007-10-15" in p.detail


def test_year_only_detail() -> None:
    assert parse_date(2007).detail == "2007"


@pytest.mark.parametrize(
    ("raw", "value"),
    [(0, date(1904, 1, 1)), (1, date(1904, 1, 2)), (37908, OCT15), (37908.5, OCT15)],
)
def test_parse_date_1904(raw: float, value: date) -> None:
    assert parse_date(raw, epoch1904=True) == Parsed(value, True, ("serial",))


def test_1904_differs_from_1900_by_1462_days() -> None:
    assert parse_date(39370, epoch1904=True).value - parse_date(39370).value == timedelta(days=1462)


# From 1911 on, no serial in either system falls in 1900–2100, which reads as a bare year.
@given(st.dates(min_value=date(1911, 1, 1), max_value=date(9999, 12, 31)))
def test_serial_round_trip(d: date) -> None:
    serial = (d - date(1899, 12, 30)).days
    assert parse_date(serial) == Parsed(d, True, ("serial",))
    assert parse_date(float(serial) + 0.5).value == d
    assert parse_date((d - date(1904, 1, 1)).days, epoch1904=True).value == d


@given(st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31)), st.sampled_from("/-."))
def test_day_first_text_round_trip(d: date, sep: str) -> None:
    assert parse_date(f"{d.day:02d}{sep}{d.month:02d}{sep}{d.year}") == Parsed(d, True)
    assert parse_date(f"{d.day}{sep}{d.month}{sep}{d.year}").value == d
    assert parse_date(f"ngày {d.day} tháng {d.month} năm {d.year}").value == d


# ---------------------------------------------------------------------------------------------------
# parse_year
# ---------------------------------------------------------------------------------------------------

YEAR_CASES = [
    (2008, 2008, True, ()),
    (2008.0, 2008, True, ()),
    ("2008", 2008, True, ()),
    (" 2008 ", 2008, True, ()),
    ("2008.0", 2008, True, ()),
    ("năm 2008", 2008, True, ()),
    ("Năm 2008", 2008, True, ()),
    ("NĂM 2008", 2008, True, ()),
    ("n¨m 2008", 2008, True, ()),  # TCVN3
    ("naêm 2008", 2008, True, ()),  # VNI
    (date(2008, 5, 1), 2008, True, ("from_date",)),
    (datetime(2008, 5, 1, 9, 0), 2008, True, ("from_date",)),
    ("", None, True, ()),
    ("\u00a0", None, True, ()),
    (None, None, True, ()),
    (2008.5, None, False, ("not_a_year",)),
    (99, None, False, ("not_a_year",)),
    (20080, None, False, ("not_a_year",)),
    ("08", None, False, ("not_a_year",)),
    ("2008-2010", None, False, ("not_a_year",)),
    ("năm 2008 và 2009", None, False, ("not_a_year",)),
    ("abc", None, False, ("not_a_year",)),
    (True, None, False, ("not_a_year",)),
    (float("nan"), None, False, ("not_a_year",)),
]


@pytest.mark.parametrize(("raw", "value", "ok", "notes"), YEAR_CASES)
def test_parse_year(raw: object, value: object, ok: bool, notes: tuple[str, ...]) -> None:
    p = parse_year(raw)
    assert (p.value, p.ok, p.notes) == (value, ok, notes)
    if value is not None:
        assert type(p.value) is int


# ---------------------------------------------------------------------------------------------------
# Legacy encodings
# ---------------------------------------------------------------------------------------------------

TCVN3_EXAMPLES = [
    ("Hµ TÜnh", "Hà Tĩnh"),
    ("§éc lËp - Tù do - H¹nh phóc", "Độc lập - Tự do - Hạnh phúc"),
    ("Ng\u00adêi", "Người"),
    ("Së Tµi chÝnh", "Sở Tài chính"),
    ("M\u00adêng Kh\u00ad¬ng", "Mường Khương"),
    ("B¸t X¸t", "Bát Xát"),
    ("Uû ban nh©n d©n tØnh", "Uỷ ban nhân dân tỉnh"),
    ("Sè 15/Q§-UBND", "Số 15/QĐ-UBND"),
    ("¡ ¢ £ ¤ ¥ ¦ §", "Ă Â Ê Ô Ơ Ư Đ"),
    ("¨»¼½¾Æ ©ÇÈÉÊË ®", "ăằẳẵắặ âầẩẫấậ đ"),
    ("ÌÎÏÐÑ ªÒÓÔÕÖ ×ØÜÝÞ", "èẻẽéẹ êềểễếệ ìỉĩíị"),
    ("ßáâãä «åæçèé ¬êëìíî", "òỏõóọ ôồổỗốộ ơờởỡớợ"),
    ("ïñòóô \u00adõö÷øù úûüýþ", "ùủũúụ ưừửữứự ỳỷỹýỵ"),
]


@pytest.mark.parametrize(("legacy", "unicode"), TCVN3_EXAMPLES)
def test_tcvn3_to_unicode(legacy: str, unicode: str) -> None:
    assert tcvn3_to_unicode(legacy) == unicode


@pytest.mark.parametrize(("legacy", "unicode"), TCVN3_EXAMPLES[:-5])
def test_unicode_to_tcvn3(legacy: str, unicode: str) -> None:
    assert unicode_to_tcvn3(unicode) == legacy


def test_tcvn3_capitals_font() -> None:
    legacy = "CéNG HOµ X· HéI CHñ NGHÜA VIÖT NAM"
    assert tcvn3_to_unicode(legacy, upper=True) == "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert tcvn3_to_unicode(legacy) == "CộNG HOà Xã HộI CHủ NGHĩA VIệT NAM"
    assert unicode_to_tcvn3("CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", upper=True) == "céng hoµ x· héi chñ nghÜa viÖt nam"


def test_tcvn3_toned_capital_falls_back_to_lower_code() -> None:
    assert unicode_to_tcvn3("Ứng") == "øng"


VNI_EXAMPLES = [
    ("Haø Tónh", "Hà Tĩnh"),
    ("Xin chaøo caùc baïn", "Xin chào các bạn"),
    ("Sôû Taøi chính", "Sở Tài chính"),
    ("Ñoäc laäp - Töï do - Haïnh phuùc", "Độc lập - Tự do - Hạnh phúc"),
    ("Ngöôøi", "Người"),
    ("ñöôøng", "đường"),
    ("Möôøng Khöông", "Mường Khương"),
    ("COÄNG HOAØ XAÕ HOÄI CHUÛ NGHÓA VIEÄT NAM", "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
    ("Hoøa Bình", "Hòa Bình"),
    ("aêaèaúaüaéaë aâaàaåaãaáaä", "ăằẳẵắặ âầẩẫấậ"),
    ("iìæóíò yøyûyõyùyï", "iìỉĩíị ỳỷỹýỵ"),
    ("ÑÖÔ", "ĐƯƠ"),
]


@pytest.mark.parametrize(("legacy", "unicode"), VNI_EXAMPLES)
def test_vni_to_unicode(legacy: str, unicode: str) -> None:
    assert vni_to_unicode(legacy) == unicode


@pytest.mark.parametrize(("legacy", "unicode"), VNI_EXAMPLES[:-3])
def test_unicode_to_vni(legacy: str, unicode: str) -> None:
    assert unicode_to_vni(unicode) == legacy


def test_vni_accepts_mark_of_other_case() -> None:
    assert vni_to_unicode("Aù") == "Á"
    assert vni_to_unicode("aÙ") == "á"


def test_unicode_to_vni_leaves_ascii_alone() -> None:
    assert unicode_to_vni("UBND 2007 (a-z)") == "UBND 2007 (a-z)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *[(legacy, "tcvn3") for legacy, _ in TCVN3_EXAMPLES[:8]],
        ("CéNG HOµ X· HéI CHñ NGHÜA VIÖT NAM", "tcvn3"),
        ("§µ N½NG", "tcvn3"),
        ("ngµy 15 th¸ng 10 n¨m 2007", "tcvn3"),
        ("Tr\u00adêng THPT Lª Quý §«n", "tcvn3"),
        ("§VT: triÖu ®ång", "tcvn3"),
        ("Thuû lîi", "tcvn3"),  # no strong marker, but two non-Vietnamese codes and all words valid
        ("Chi côc Thuû lîi", "tcvn3"),
        *[(legacy, "vni") for legacy, _ in VNI_EXAMPLES[:8]],
        ("Coù", "vni"),
        ("Ñôn vò tính: trieäu ñoàng", "vni"),
        # too little evidence either way: left alone (a font name would settle it)
        ("Uû ban", None),
        ("Tónh", None),
        # correct Unicode Vietnamese, with and without code points outside Latin-1
        ("Hà Tĩnh", None),
        ("Sở Tài chính", None),
        ("Hoàn thành", None),
        ("Hoà Bình", None),
        ("Công an tỉnh", None),
        ("Công an", None),
        ("Thái Bình", None),
        ("khoá học", None),
        ("Hoãn", None),
        ("TOÀN", None),
        ("VÕ", None),
        ("NGÕ 5", None),
        ("CÔNG AN", None),
        (NFD("Sở Tài chính Hà Tĩnh"), None),
        (NFD("Hoàn thành"), None),
        ("Ð", None),
        # ordinary English, French, German, Spanish, Nordic text and symbols
        ("Department of Finance", None),
        ("", None),
        ("© 2007 Microsoft Corporation", None),
        ("Windows® XP", None),
        ("Section § 3", None),
        ("«Bonjour»", None),
        ("5 µm", None),
        ("µg", None),
        ("a · b", None),
        ("Noël à côté de l'hôtel", None),
        ("où est la forêt", None),
        ("naïve café", None),
        ("Crème brûlée", None),
        ("août", None),
        ("Israël", None),
        ("Müller über Öl", None),
        ("Straße in Zürich", None),
        ("España, Señor Muñoz", None),
        ("Raúl", None),
        ("São Paulo", None),
        ("Ångström smörgåsbord", None),
        ("Øresund Ærø", None),
        ("1ª edição", None),
        ("infor\u00admation", None),
        ("×÷", None),
    ],
)
def test_detect_legacy(text: str, expected: str | None) -> None:
    assert detect_legacy(text) == expected


def test_detect_legacy_mixed_with_real_unicode_is_none() -> None:
    # One real Vietnamese code point proves the cell is Unicode, whatever else it holds.
    assert detect_legacy("Sở Tµi chÝnh") is None


# Real Vietnamese words (NFC), for property tests.
VOCAB = [
    "sở", "tài", "chính", "hà", "tĩnh", "người", "đồng", "nghĩa", "việt", "nam", "cộng", "hoà", "xã",
    "hội", "chủ", "độc", "lập", "tự", "do", "hạnh", "phúc", "ủy", "ban", "nhân", "dân", "huyện", "thị",
    "thành", "phố", "công", "nghệ", "thông", "tin", "ứng", "dụng", "kế", "hoạch", "năm", "tháng",
    "ngày", "báo", "cáo", "máy", "tính", "mạng", "nội", "bộ", "cán", "trang", "điện", "tử", "dịch",
    "vụ", "trực", "tuyến", "mức", "độ", "kinh", "phí", "triệu", "đầu", "tư", "giáo", "dục", "đào",
    "tạo", "y", "tế", "khoa", "học", "văn", "hoá", "thể", "thao", "du", "lịch", "nông", "nghiệp",
    "phát", "triển", "quyết", "định", "nghị", "giường", "khuya", "quả", "nguyễn", "trường", "mường",
    "khương", "bát", "xát", "hướng", "dẫn", "ước", "lượng", "uỷ", "quyền", "thuở", "ngoằn", "ngoèo"
]
# Unicode words made only of Latin-1 letters: the hardest case for "is this really Unicode?".
LATIN1_VOCAB = [
    "hoà", "công", "toàn", "thành", "bình", "quán", "khoá", "tây", "yên", "mai", "châu", "lào", "cai",
    "tài", "chính", "an", "ninh", "giáo", "phòng", "thông", "tin", "nông", "lâm", "kênh", "hoàn", "trà",
    "vinh", "cà", "mau", "gò", "phú", "ông", "bà", "cô", "chú", "dân", "tâm", "tên", "hoá", "toán"
]
# Words whose legacy spelling is unmistakable, one of which is put in every generated sentence.
TCVN3_ANCHORS = ["hà", "tĩnh", "người", "việt", "nghĩa", "đồng", "tài", "lập"]
VNI_ANCHORS = ["hà", "người", "việt", "đồng", "tài", "lập"]

words = st.sampled_from(VOCAB)
sentences = st.lists(words, min_size=0, max_size=8)


def _sentence(ws: list[str], anchor: str, at: int) -> str:
    ws = list(ws)
    ws.insert(at % (len(ws) + 1), anchor)
    return " ".join(ws)


VIET_LETTERS = "".join(
    unicodedata.normalize("NFC", base + mark)
    for base in "aăâeêioôơuưy"
    for mark in ("", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323")
) + "đ"
vn_lower_text = st.text(alphabet=VIET_LETTERS + "bcdghklmnpqrstvx 0123456789,.-/()", max_size=40)
vn_any_text = st.text(
    alphabet=VIET_LETTERS + VIET_LETTERS.upper() + "bcdghklmnpqrstvxBCDGHKLMNPQRSTVXfjwzFJWZ 0123456789,.-/()",
    max_size=40,
)


@given(vn_lower_text)
def test_tcvn3_round_trip_lower(s: str) -> None:
    assert tcvn3_to_unicode(unicode_to_tcvn3(s)) == s


@given(st.text(alphabet=VIET_LETTERS + "ĂÂÊÔƠƯĐBCDGHKLMNPQRSTVX ", max_size=40))
def test_tcvn3_round_trip_untoned_capitals(s: str) -> None:
    assert tcvn3_to_unicode(unicode_to_tcvn3(s)) == s


@given(vn_any_text)
def test_tcvn3_round_trip_capitals_font(s: str) -> None:
    assert tcvn3_to_unicode(unicode_to_tcvn3(s, upper=True), upper=True) == s.upper()


@given(vn_any_text)
def test_vni_round_trip(s: str) -> None:
    assert vni_to_unicode(unicode_to_vni(s)) == s
    assert vni_to_unicode(unicode_to_vni(NFD(s))) == s


@given(vn_any_text)
def test_encoders_emit_only_cp1252_lookalikes(s: str) -> None:
    # What a legacy font's text looks like when Excel hands it over: Latin-1 range only.
    assert all(ord(ch) < 256 for ch in unicode_to_tcvn3(s))
    assert all(ord(ch) < 256 for ch in unicode_to_vni(s))


@settings(deadline=None)
@given(sentences, st.sampled_from(TCVN3_ANCHORS), st.integers(0, 8))
def test_tcvn3_sentences_detected_and_converted(ws: list[str], anchor: str, at: int) -> None:
    text = _sentence(ws, anchor, at)
    legacy = unicode_to_tcvn3(text)
    assert detect_legacy(legacy) == "tcvn3"
    p = clean_text(legacy)
    assert p.value == text and p.notes == ("tcvn3",) and p.detail == legacy
    assert normalize_key(legacy) == normalize_key(text)


@settings(deadline=None)
@given(sentences, st.sampled_from(VNI_ANCHORS), st.integers(0, 8), st.booleans())
def test_vni_sentences_detected_and_converted(ws: list[str], anchor: str, at: int, caps: bool) -> None:
    text = _sentence(ws, anchor, at)
    if caps:
        text = text.upper()
    legacy = unicode_to_vni(text)
    assert detect_legacy(legacy) == "vni"
    p = clean_text(legacy)
    assert p.value == text and p.notes == ("vni",)
    assert normalize_key(legacy) == normalize_key(text)


@settings(deadline=None)
@given(st.lists(st.sampled_from(LATIN1_VOCAB), min_size=1, max_size=8), st.sampled_from(["lower", "title", "upper"]))
def test_latin1_only_unicode_vietnamese_is_not_legacy(ws: list[str], case: str) -> None:
    text = " ".join(getattr(w, case)() for w in ws)
    assert detect_legacy(text) is None
    assert clean_text(text) == Parsed(text, True)


@given(st.lists(words, min_size=1, max_size=8))
def test_unicode_vietnamese_is_never_legacy(ws: list[str]) -> None:
    text = " ".join(ws)
    assert detect_legacy(text) is None
    assert detect_legacy(NFD(text)) is None


# ---------------------------------------------------------------------------------------------------
# clean_text
# ---------------------------------------------------------------------------------------------------

CLEAN_CASES = [
    # raw, value, notes
    ("Sở Thông tin và Truyền thông", "Sở Thông tin và Truyền thông", ()),
    ("Hello world", "Hello world", ()),
    ("  Sở  Tài   chính ", "Sở Tài chính", ()),
    ("Sở\u00a0Tài\u202fchính", "Sở Tài chính", ()),
    ("dòng 1  \n  dòng 2", "dòng 1\ndòng 2", ()),
    ("line 1\r\nline 2\rline 3", "line 1\nline 2\nline 3", ()),
    ("a\tb", "a\tb", ()),
    ("", None, ()),
    ("   ", None, ()),
    ("\u00a0\u2009", None, ()),
    (None, None, ()),
    (NFD("Hà Tĩnh"), "Hà Tĩnh", ("nfc",)),
    ("ÐẠI HỌC Vinh", "ĐẠI HỌC Vinh", ("eth_lookalike",)),
    ("Hà Tĩnh - ðường 1", "Hà Tĩnh - đường 1", ("eth_lookalike",)),
    ("Tài\u200b chính", "Tài chính", ("control_chars",)),
    ("\ufeffSở Y tế", "Sở Y tế", ("control_chars",)),
    ("abc\x00def\x07", "abcdef", ("control_chars",)),
    ("Sở\x0bY tế", "SởY tế", ("control_chars",)),
    ("\u200b", None, ("control_chars",)),
    ("Hµ TÜnh", "Hà Tĩnh", ("tcvn3",)),
    ("  Së Tµi chÝnh  ", "Sở Tài chính", ("tcvn3",)),
    ("M\u00adêng Kh\u00ad¬ng", "Mường Khương", ("tcvn3",)),
    ("CéNG HOµ X· HéI CHñ NGHÜA VIÖT NAM", "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", ("tcvn3",)),
    ("Sè 15/Q§-UBND", "Số 15/QĐ-UBND", ("tcvn3",)),
    ("Haø Tónh", "Hà Tĩnh", ("vni",)),
    ("Xin chaøo caùc baïn", "Xin chào các bạn", ("vni",)),
    ("Sôû Taøi chính", "Sở Tài chính", ("vni",)),
    ("infor\u00admation", "infor\u00admation", ()),  # a soft hyphen is never stripped
    (2007.0, "2007", ("coerced",)),
    (12.5, "12.5", ("coerced",)),
    (2007, "2007", ("coerced",)),
    (True, "TRUE", ("coerced",)),
    (OCT15, "2007-10-15", ("coerced",)),
    (datetime(2007, 10, 15), "2007-10-15", ("coerced",)),
    (datetime(2007, 10, 15, 8, 30), "2007-10-15 08:30:00", ("coerced",)),
]


@pytest.mark.parametrize(("raw", "value", "notes"), CLEAN_CASES)
def test_clean_text(raw: object, value: str | None, notes: tuple[str, ...]) -> None:
    p = clean_text(raw)
    assert (p.value, p.ok, p.notes) == (value, True, notes)


def test_clean_text_legacy_detail_is_original() -> None:
    assert clean_text("  Hµ TÜnh ").detail == "  Hµ TÜnh "
    assert clean_text("Haø Tónh").detail == "Haø Tónh"


def test_clean_text_legacy_then_hygiene() -> None:
    p = clean_text("Së\u00a0 Tµi\u200b chÝnh")
    assert p.value == "Sở Tài chính"
    assert p.notes == ("control_chars", "tcvn3")
    # a zero-width space inside a legacy word must not hide it from detection
    assert clean_text("Ng\u00ad\u200bêi").value == "Người"


@pytest.mark.parametrize(
    ("raw", "font", "value", "notes"),
    [
        ("CéNG HOµ", ".VnTimeH", "CỘNG HOÀ", ("tcvn3",)),
        ("Hµ TÜnh", ".VnArialH", "HÀ TĨNH", ("tcvn3",)),
        ("Hµ TÜnh", ".VnTime", "Hà Tĩnh", ("tcvn3",)),
        ("CéNG HOµ", ".VnTime", "CộNG HOà", ("tcvn3",)),  # font says: not a capitals font
        # weak evidence alone is not enough without the font ...
        ("Uû ban", None, "Uû ban", ()),
        ("Tónh", None, "Tónh", ()),
        # ... but the font name settles it
        ("Uû ban", ".VnTime", "Uỷ ban", ("tcvn3",)),
        ("Tónh", "VNI-Times", "Tĩnh", ("vni",)),
        ("Tónh", " VNI-Helve ", "Tĩnh", ("vni",)),
        # the font never overrides real Unicode, and ASCII needs no conversion
        ("Hà Tĩnh", ".VnTime", "Hà Tĩnh", ()),
        ("UBND", ".VnTimeH", "UBND", ()),
        ("Hµ TÜnh", "Times New Roman", "Hà Tĩnh", ("tcvn3",)),
    ],
)
def test_clean_text_font_hint(raw: str, font: str | None, value: str, notes: tuple[str, ...]) -> None:
    p = clean_text(raw, font=font)
    assert (p.value, p.notes) == (value, notes)


@given(st.text(max_size=30))
def test_clean_text_is_idempotent(s: str) -> None:
    once = clean_text(s).value
    if once is not None:
        assert clean_text(once).value == once


@given(st.text(max_size=30))
def test_clean_text_output_has_no_junk(s: str) -> None:
    v = clean_text(s).value
    if v is not None:
        assert v == v.strip()
        assert "  " not in v
        assert "\u00a0" not in v and "\u200b" not in v and "\r" not in v
        assert unicodedata.is_normalized("NFC", v)


# ---------------------------------------------------------------------------------------------------
# normalize_key and is_blank
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Sở  Tài chính ", "so tai chinh"),
        ("SO TAI CHINH", "so tai chinh"),
        ("SỞ TÀI CHÍNH", "so tai chinh"),
        (NFD("Sở Tài chính"), "so tai chinh"),
        ("Së Tµi chÝnh", "so tai chinh"),
        ("Sôû Taøi chính", "so tai chinh"),
        ("Thị xã Hà Tĩnh", "thi xa ha tinh"),
        ("Sở Bưu chính, Viễn thông", "so buu chinh vien thong"),
        ("Đài Phát thanh - Truyền hình", "dai phat thanh truyen hinh"),
        ("ÐÀI PHÁT THANH", "dai phat thanh"),
        ("UBND huyện Đức Thọ", "ubnd huyen duc tho"),
        ("Số máy tính (PC)", "so may tinh pc"),
        ("1. Tổng số cán bộ, công chức", "1 tong so can bo cong chuc"),
        ("a)\u00a0\u00a0Máy chủ", "a may chu"),
        ("Tài\u200bchính", "taichinh"),
        ("Ng\u00ad\u200bêi", "nguoi"),
        ("Máy chủ １２", "may chu 12"),
        ("Ærø Øresund", "aero oresund"),
        ("snake_case--name", "snake case name"),
        ("", ""),
        ("  ", ""),
    ],
)
def test_normalize_key(text: str, key: str) -> None:
    assert normalize_key(text) == key


@given(st.lists(words, min_size=1, max_size=6))
def test_normalize_key_ignores_case_accents_and_form(ws: list[str]) -> None:
    text = " ".join(ws)
    key = normalize_key(text)
    assert key.isascii()
    assert key == normalize_key(text.upper()) == normalize_key(NFD(text)) == normalize_key(f"  {text}. ")


@given(st.text(max_size=30))
def test_normalize_key_is_idempotent(s: str) -> None:
    key = normalize_key(s)
    assert normalize_key(key) == key
    assert key == key.strip() and "  " not in key


@pytest.mark.parametrize(
    ("raw", "blank"),
    [
        ("", True),
        (None, True),
        ("   ", True),
        ("\u00a0", True),
        ("\u202f\u2009", True),
        ("\u200b\u200c\u200d\ufeff\u2060", True),
        (" \t\n\r ", True),
        ("\x00", True),
        ("x", False),
        (" 0 ", False),
        ("\u00ad", False),  # TCVN3 ư
        ("-", False),
        (0, False),
        (0.0, False),
        (False, False),
        (float("nan"), False),
    ],
)
def test_is_blank(raw: object, blank: bool) -> None:
    assert is_blank(raw) is blank


@given(st.text(max_size=20))
def test_is_blank_agrees_with_clean_text(s: str) -> None:
    assert is_blank(s) == (clean_text(s).value is None)


@given(st.text(alphabet=" \u00a0\u2009\u202f\u200b\ufeff\t\n", max_size=10))
def test_invisible_text_is_empty_everywhere(s: str) -> None:
    assume(s)
    assert is_blank(s)
    for parse in (parse_number, parse_bool, parse_date, parse_year):
        assert parse(s) == Parsed(None, True)


@pytest.mark.parametrize("raw", [3.5, 3.0, 3, -0.0, 1e300, 5e-324])
def test_real_numbers_keep_their_type(raw: float) -> None:
    p = parse_number(raw)
    assert p == Parsed(raw, True) and type(p.value) is type(raw)


def test_parse_bool_remembers_spellings_within_bounds() -> None:
    """A spelling parsed once is answered from memory the same way; odd files cannot grow the memory."""
    from pipeline import normalize

    normalize._BOOL_SEEN.clear()  # whatever earlier tests left
    for raw in ("Có", "Không", "x", "chưa có", "khong biet", "Có"):
        assert parse_bool(raw) == parse_bool(raw) == normalize._BOOL_SEEN[raw]
    for i in range(3 * normalize._BOOL_SEEN_MAX):
        parse_bool(f"ý kiến {i}")
    assert len(normalize._BOOL_SEEN) <= normalize._BOOL_SEEN_MAX
    assert parse_bool("Không") == Parsed(False, True) and parse_bool("đã có") == Parsed(True, True)
    assert parse_bool("x" * (normalize._BOOL_SEEN_LEN + 1)) == Parsed(None, False, ("not_a_bool",))


def test_a_number_of_thousands_of_digits_is_not_a_number_regression() -> None:
    """int() raises past 4,300 digits: such text must be 'not a number', not an exception."""
    for text in ("9" * 5000, "1." + "9" * 5000, "(" + "9" * 5000 + ")", "9" * 5000 + " %"):
        assert parse_number(text) == Parsed(None, False, ("not_a_number",))
    assert parse_number("1.234.567.890") == Parsed(1234567890, True)


@pytest.mark.parametrize(("raw", "integer_reading", "year_reading"), [
    (2.003, 2003, 2003),  # "2.003" typed where the dot is a decimal point: 2003, the Vietnamese way
    ("2.003", None, 2003),  # text: an int field read it as 2003 already (no note); a year now too
    (12.345, 12345, None),  # not a year: five digits
    (2.01, None, 2010),  # a year whose trailing zero the program dropped ("2.010")
    (2.5, None, 2500),  # a year only: in a count 2.5 stays a fraction (refused)
    (20.08, None, None),
])
def test_a_dot_grouping_thousands_is_read_where_a_whole_number_is_asked(raw, integer_reading, year_reading):
    as_int, as_year = parse_number(raw, integer=True), parse_year(raw)
    if integer_reading is None:
        assert as_int.notes != ("grouped_thousands",)
    else:
        assert (as_int.value, as_int.notes, as_int.detail) == (integer_reading, ("grouped_thousands",), str(raw))
    if year_reading is None:
        assert not as_year.ok
    else:
        assert (as_year.value, as_year.notes, as_year.detail) == (year_reading, ("grouped_thousands",), str(raw))
    assert parse_number(raw).value == (float(raw) if isinstance(raw, float) else 2003)  # a decimal field: as it is
