"""The agency registry: Hà Tĩnh's 29 departments and boards and 12 district-level units, matched by code,
name and aliases whatever the accents, case or legacy font."""

from __future__ import annotations

import pytest

from pipeline.normalize import unicode_to_tcvn3
from pipeline.registry import RegistryError, parse_registry


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
