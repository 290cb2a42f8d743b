"""The agency registry: Hà Tĩnh's 29 departments and boards and 12 district-level units, matched by code,
name and aliases whatever the accents, case or legacy font."""

from __future__ import annotations

import re

import pytest

from pipeline.form.registry import RegistryError, parse_registry
from pipeline.normalize import unicode_to_tcvn3


def test_hatinh_registry_has_both_groups(registry):
    groups = [a.group for a in registry.agencies]
    assert groups.count("so") == 29
    assert groups.count("huyen") == 12
    assert registry.get("sbcvt").name_vi == "Sở Bưu chính, Viễn thông"


@pytest.mark.parametrize(("text", "code"), [
    ("Thị xã Hà Tĩnh", "TP-HATINH"),  # the old name, before NĐ 89/2007
    ("UBND TX Hà Tĩnh", "TP-HATINH"),
    ("THÀNH PHỐ HÀ TĨNH", "TP-HATINH"),
    ("thanh pho ha tinh", "TP-HATINH"),
    ("UBND huyện Can Lộc", "H-CANLOC"),
    ("Uỷ ban nhân dân huyện Can Lộc", "H-CANLOC"),
    ("Sở BCVT", "SBCVT"),
    ("Sở Bưu chính - Viễn thông", "SBCVT"),
    ("Së Tµi chÝnh", "STC"),  # TCVN3 bytes, as an old .VnTime file shows them
    ("  Sở   Tài chính ", "STC"),
    ("So\u0309 Ta\u0300i chi\u0301nh", "STC"),  # NFD
    ("skhdt", "SKHDT"),
])
def test_resolve_names_codes_and_aliases(registry, text, code):
    assert registry.resolve(text) == code


def test_tcvn3_spelling_of_any_name_resolves(registry):
    for agency in registry.agencies:
        assert registry.resolve(unicode_to_tcvn3(agency.name_vi)) == agency.code


def test_unknown_names_do_not_resolve(registry):
    assert registry.resolve("Sở Du lịch Đà Nẵng") is None
    assert registry.resolve("") is None


@pytest.mark.parametrize(("name", "code"), [
    ("BM-UDCNTT-2007_v1.0_STC.xlsx", "STC"),
    ("bao cao CNTT - H-CANLOC (sua).xls", "H-CANLOC"),
    ("BQL-KCN.ods", "BQL-KCN"),
    ("bao cao so tai chinh.xlsx", None),
])
def test_code_in_file_name(registry, name, code):
    assert registry.code_in_filename(name) == code


def test_registry_mistakes_are_reported_with_line():
    header = "code,name_vi,name_en,group,group_vi,group_en,loai_don_vi,aliases\n"
    with pytest.raises(RegistryError, match="line 2"):
        parse_registry(header + "stc lower,Sở Tài chính,,so,,,,\n")
    with pytest.raises(RegistryError, match="duplicate codes"):
        parse_registry(header + "STC,Sở Tài chính,,so,,,,\nSTC,Sở Tài chính,,so,,,,\n")
    with pytest.raises(RegistryError, match="missing columns"):
        parse_registry("code,name_vi\nSTC,Sở Tài chính\n")


def _code_in_filename_by_definition(registry, file_name: str) -> str | None:
    """The rule as first written: every code, longest first, searched in the name with boundaries."""
    import re
    from pathlib import Path

    stem = Path(file_name).stem.upper()
    for code in sorted(registry.by_code, key=len, reverse=True):
        if re.search(rf"(^|[^A-Z0-9]){re.escape(code)}($|[^A-Z0-9])", stem):
            return code
    return None


def test_code_in_file_name_follows_its_definition(registry):
    """The lookup walks the name, not the registry (a national registry has 10,000 codes), and finds what
    searching for every code would find."""
    import random

    rng = random.Random(7)
    pieces = [*registry.by_code, "bao", "cao", "-", "_", " ", ".", "Đ", "2007", "KCN", "H", "x", "ß"]
    for _ in range(3000):
        name = "".join(rng.choice(pieces) if rng.random() < 0.7 else rng.choice(pieces).lower()
                       for _ in range(rng.randint(0, 6))) + rng.choice([".xlsx", ".xls", ""])
        assert registry.code_in_filename(name) == _code_in_filename_by_definition(registry, name), name


def test_code_in_file_name_with_a_national_registry():
    header = "code,name_vi,name_en,group,group_vi,group_en,loai_don_vi,aliases\n"
    big = parse_registry(header + "".join(f"A{i:05d},Đơn vị {i},,so,,,,\n" for i in range(20_000)))
    assert big.code_in_filename("BM-UDCNTT-2007_v1.0_A19999.xlsx") == "A19999"
    assert big.code_in_filename("A00001-A00002.xlsx") == "A00001"  # equal lengths: registry order
    assert big.code_in_filename("BM-UDCNTT-2007_v1.0.xlsx") is None


def test_office_contacts_every_hatinh_agency(registry):
    """Phone in the 2007 style (area code 039, a 7-digit local number in full) and an official address."""
    for agency in registry.agencies:
        assert re.fullmatch(r"039\.3\d{6}", agency.phone), agency
        assert re.fullmatch(r"[a-z0-9.]+@hatinh\.gov\.vn", agency.email), agency
    assert len({a.phone for a in registry.agencies}) == len(registry.agencies)


def test_contact_columns_are_optional():
    header = "code,name_vi,name_en,group,group_vi,group_en,loai_don_vi,aliases"
    plain = parse_registry(header + "\nSTC,Sở Tài chính,,so,,,,\n")
    assert (plain.agencies[0].phone, plain.agencies[0].email) == ("", "")
    full = parse_registry(header + ",phone,email\nSTC,Sở Tài chính,,so,,,,, 039.3855174 ,stc@hatinh.gov.vn\n")
    assert (full.agencies[0].phone, full.agencies[0].email) == ("039.3855174", "stc@hatinh.gov.vn")
