"""The agency registry: Hà Tĩnh's 29 departments and boards and 12 district-level units of 2007, the 2008
reorganisation (23 departments and boards from 01/9/2008), matched by code, name and aliases whatever the
accents, case or legacy font."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from pipeline.form.registry import STAFF_BANDS, RegistryError, parse_registry
from pipeline.normalize import unicode_to_tcvn3


def test_hatinh_registry_has_both_groups(registry):
    groups = [a.group for a in registry.on(dt.date(2007, 9, 30)).agencies]
    assert groups.count("so") == 29
    assert groups.count("huyen") == 12
    assert registry.get("sbcvt").name_vi == "Sở Bưu chính, Viễn thông"
    later = [a.group for a in registry.on(dt.date(2009, 1, 31)).agencies]
    assert (later.count("so"), later.count("huyen")) == (23, 12)
    assert len(registry.agencies) == 44  # every agency of the file, whatever its dates


def test_district_reporting_bodies_are_their_peoples_committees(registry):
    """A district reports as its People's Committee ("UBND huyện Nghi Xuân"), under the name of 2007: Hà Tĩnh
    has been a thành phố since NĐ 89/2007 (28/5/2007); the old names stay aliases so old returns still match."""
    names = {a.code: a.name_vi for a in registry.agencies if a.group == "huyen"}
    assert names["H-NGHIXUAN"] == "UBND huyện Nghi Xuân"
    assert names["TP-HATINH"] == "UBND thành phố Hà Tĩnh"
    assert names["TX-HONGLINH"] == "UBND thị xã Hồng Lĩnh"
    assert all(name.startswith(("UBND huyện ", "UBND thị xã ", "UBND thành phố ")) for name in names.values())
    for old, code in [("Huyện Nghi Xuân", "H-NGHIXUAN"), ("UBND thị xã Hà Tĩnh", "TP-HATINH"),
                      ("Thị xã Hồng Lĩnh", "TX-HONGLINH"), ("Huyện Lộc Hà", "H-LOCHA")]:
        assert registry.resolve(old) == code


def test_department_names_are_capitalised_officially(registry):
    """Only the first word of a field is capitalised ("Sở Giao thông vận tải"); the old spelling still matches."""
    assert registry.get("SGTVT").name_vi == "Sở Giao thông vận tải"
    assert registry.resolve("Sở Giao thông Vận tải") == "SGTVT"


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
    """Phone as written in 2007 (area code 039, a 6-digit local number: 039.855544, before the 2008 change to
    7 digits) and an official address."""
    for agency in registry.agencies:
        assert re.fullmatch(r"039\.\d{6}", agency.phone), agency
        assert re.fullmatch(r"[a-z0-9.]+@hatinh\.gov\.vn", agency.email), agency
    assert len({a.email for a in registry.agencies}) == len(registry.agencies)
    for day in (dt.date(2007, 9, 30), dt.date(2009, 1, 31)):  # a new department keeps its predecessor's office
        agencies = registry.on(day).agencies
        assert len({a.phone for a in agencies}) == len(agencies)
    assert registry.get("STTTT").phone == registry.get("SBCVT").phone


def test_contact_columns_are_optional():
    header = "code,name_vi,name_en,group,group_vi,group_en,loai_don_vi,aliases"
    plain = parse_registry(header + "\nSTC,Sở Tài chính,,so,,,,\n")
    assert (plain.agencies[0].phone, plain.agencies[0].email) == ("", "")
    full = parse_registry(header + ",phone,email\nSTC,Sở Tài chính,,so,,,,, 039.3855174 ,stc@hatinh.gov.vn\n")
    assert (full.agencies[0].phone, full.agencies[0].email) == ("039.3855174", "stc@hatinh.gov.vn")


HEADER = "code,name_vi,name_en,group,group_vi,group_en,loai_don_vi,aliases"


def test_lifetime_and_size_columns_are_optional():
    plain = parse_registry(HEADER + "\nSTC,Sở Tài chính,,so,,,,\n").agencies[0]
    assert (plain.valid_from, plain.valid_to, plain.successor, plain.size_class) == (None, None, "", "")
    assert plain.staff_band is None
    assert plain.exists_on(dt.date(1990, 1, 1)) and plain.exists_on(dt.date(2030, 1, 1))


def test_the_hatinh_registry_records_sizes_and_foundings(registry):
    assert all(a.size_class in STAFF_BANDS for a in registry.agencies)
    assert registry.get("SGDDT").staff_band == STAFF_BANDS["L"] and registry.get("SBCVT").size_class == "S"
    locha = registry.get("H-LOCHA")  # carved out of Can Lộc and Thạch Hà by NĐ 20/2007
    assert locha.valid_from == dt.date(2007, 2, 7)
    assert not locha.exists_on(dt.date(2006, 12, 31)) and locha.exists_on(dt.date(2007, 10, 15))


def test_the_2008_reorganisation_is_in_the_registry(registry):
    """NĐ 13/2008/NĐ-CP and QĐ 28/2008/QĐ-UBND (01/9/2008): who ended, who took over, what went elsewhere."""
    day = dt.date(2009, 1, 31)  # the 2008 report round's deadline
    assert {a.code for a in registry.agencies if a.valid_to} == {
        "SCN", "STMDL", "STS", "SVHTT", "STDTT", "SBCVT", "UBDSGDTE", "BTG", "BTDKT"}
    assert all(a.valid_to == dt.date(2008, 8, 31) and a.basis for a in registry.agencies if a.valid_to)
    bodies = {code: (registry.reporting_body(code, day) or registry.get(code)).code
              for code in ("SBCVT", "SCN", "STMDL", "STS", "SVHTT", "STDTT", "BTG", "BTDKT")}
    assert bodies == {"SBCVT": "STTTT", "SCN": "SCT", "STMDL": "SCT", "STS": "SNNPTNT", "SVHTT": "SVHTTDL",
                      "STDTT": "SVHTTDL", "BTG": "SNV", "BTDKT": "SNV"}
    assert registry.reporting_body("UBDSGDTE", day) is None  # dissolved: its work went to three others
    assert [c for c, _ in registry.get("UBDSGDTE").transfers] == ["SVHTTDL", "SYT", "SLDTBXH"]
    assert registry.get("SVHTT").transfers == (("STTTT", "thông tin, báo chí, xuất bản"),)
    assert "QĐ 28/2008/QĐ-UBND ngày 01/9/2008" in registry.get("SVHTTDL").basis
    assert [a.code for a in registry.predecessors("SCT", day)] == ["SCN", "STMDL"]
    assert [a.code for a in registry.predecessors("STTTT", day)] == ["SBCVT"]  # SVHTT's part is a transfer
    assert registry.resolve("Sở Công Thương") == "SCT" and registry.resolve("Sở TT&TT") == "STTTT"
    for new in ("SCT", "SVHTTDL", "STTTT"):
        agency = registry.get(new)
        assert agency.valid_from == dt.date(2008, 9, 1) and agency.size_class in STAFF_BANDS


def test_a_round_expects_the_agencies_existing_at_its_deadline(registry, spec):
    from pipeline.form.spec import bundled, load_spec

    plans, reports = registry.of_round(spec), registry.of_round(load_spec(bundled("report_2008_spec.yaml")))
    assert (plans.day, len(plans.agencies), reports.day, len(reports.agencies)) == (
        dt.date(2007, 9, 30), 41, dt.date(2009, 1, 31), 35)
    assert [a.code for a in plans.agencies] == [a.code for a in registry.agencies if not a.valid_from
                                                or a.valid_from.year < 2008]
    assert reports.get("SBCVT") is None and reports.get("STTTT") is not None  # a round's lookups: its agencies
    assert reports.whole is registry and reports.of_round(spec).agencies == plans.agencies
    assert [g[2] for g in reports.groups] == ["Departments and boards", "District-level People's Committees"]
    no_deadline = parse_registry(HEADER + ",valid_from,valid_to,successor\nSTC,Sở Tài chính,,so,,,,,,2008-03-31,,\n")
    assert len(no_deadline.of_round(object()).agencies) == 1  # a spec without a deadline: every agency


def test_a_reorganisation_is_recorded_with_dates_and_a_successor():
    registry = parse_registry(HEADER + ",valid_from,valid_to,successor,size_class\n"
                              "SBCVT,\"Sở Bưu chính, Viễn thông\",,so,,,,,12/08/2004,31/03/2008,STTTT,S\n"
                              "STTTT,Sở Thông tin và Truyền thông,,so,,,,,2008-04-01,,,m\n")
    old, new = registry.agencies
    assert (old.valid_from, old.valid_to, old.successor) == (dt.date(2004, 8, 12), dt.date(2008, 3, 31), "STTTT")
    assert (new.valid_from, new.size_class, new.staff_band) == (dt.date(2008, 4, 1), "M", STAFF_BANDS["M"])
    assert registry.reporting_body("SBCVT", dt.date(2007, 10, 15)) is old
    assert registry.reporting_body("sbcvt", dt.date(2008, 10, 15)) is new
    assert registry.reporting_body("STTTT", dt.date(2007, 10, 15)) is None  # not yet founded: not SBCVT either
    assert registry.reporting_body("SBCVT", dt.date(2000, 1, 1)) is None
    assert registry.reporting_body("XYZ", dt.date(2007, 10, 15)) is None


@pytest.mark.parametrize(("rows", "message"), [
    ("STC,Sở Tài chính,,so,,,,,2007-13-01,,,", r"line 2: valid_from '2007-13-01' is not a date"),
    ("STC,Sở Tài chính,,so,,,,,,1/4/08,,", r"line 2: valid_to '1/4/08' is not a date"),
    ("STC,Sở Tài chính,,so,,,,,2008-01-01,2007-12-31,,", r"line 2: valid_to 31/12/2007 is before valid_from"),
    ("STC,Sở Tài chính,,so,,,,,,2008-03-31,SXX,", r"line 2: successor SXX of STC is not a code"),
    ("STC,Sở Tài chính,,so,,,,,,2008-03-31,STC,", r"line 2: STC cannot be its own successor"),
    ("STC,Sở Tài chính,,so,,,,,,,SNV,\nSNV,Sở Nội vụ,,so,,,,,,,,", r"line 2: successor SNV needs the valid_to"),
    ("STC,Sở Tài chính,,so,,,,,,2008-03-31,SNV,\nSNV,Sở Nội vụ,,so,,,,,,2009-01-01,STC,",
     r"line 2: the successors of STC lead back to STC"),
    ("STC,Sở Tài chính,,so,,,,,,,,XL", r"line 2: size_class 'XL' must be one of S, M, L"),
    # a successor founded after its predecessor ended: a day without a reporting body
    ("SBCVT,Sở BCVT,,so,,,,,,2008-08-31,STTTT,\nSTTTT,Sở TT&TT,,so,,,,,2008-10-01,,,",
     r"line 2: successor STTTT of SBCVT does not exist on 01/09/2008, the day after SBCVT ends"),
    ("SBCVT,Sở BCVT,,so,,,,,,2008-08-31,STTTT,\nSTTTT,Sở TT&TT,,so,,,,,,2008-06-30,,",
     r"line 2: successor STTTT of SBCVT does not exist on 01/09/2008"),  # ...or ended before it
])
def test_lifetime_and_size_mistakes_are_reported_with_line(rows, message):
    with pytest.raises(RegistryError, match=message):
        parse_registry(HEADER + ",valid_from,valid_to,successor,size_class\n" + rows + "\n")


def test_a_successor_starting_the_day_after_is_accepted():
    registry = parse_registry(HEADER + ",valid_from,valid_to,successor\nSBCVT,Sở BCVT,,so,,,,,,2008-08-31,STTTT\n"
                              "STTTT,Sở TT&TT,,so,,,,,2008-09-01,,\n")
    assert registry.reporting_body("SBCVT", dt.date(2008, 9, 1)).code == "STTTT"
    assert registry.reporting_body("SBCVT", dt.date(2008, 8, 31)).code == "SBCVT"


@pytest.mark.parametrize(("transfers", "message"), [
    ("STTTT", r"line 2: transfers 'STTTT' must be written CODE: what"),
    ("SVHTT: báo chí", r"line 2: SVHTT cannot transfer work to itself"),
    ("SXX: báo chí", r"line 2: transfer to SXX of SVHTT is not a code of the registry"),
    ("STTTT: báo chí", r"line 2: transfer to STTTT of SVHTT does not exist on 01/09/2008"),
])
def test_transfer_mistakes_are_reported_with_line(transfers, message):
    rows = (f"SVHTT,Sở VH-TT,,so,,,,,,2008-08-31,SVHTTDL,\"{transfers}\"\nSVHTTDL,Sở VHTTDL,,so,,,,,2008-09-01,,,\n"
            "STTTT,Sở TT&TT,,so,,,,,2008-10-01,,,\n")
    with pytest.raises(RegistryError, match=message):
        parse_registry(HEADER + ",valid_from,valid_to,successor,transfers\n" + rows)


def test_transfers_need_an_end():
    with pytest.raises(RegistryError, match=r"line 2: transfers need the valid_to date on which SVHTT ends"):
        parse_registry(HEADER + ",transfers\nSVHTT,Sở VH-TT,,so,,,,,STC: báo chí\nSTC,Sở TC,,so,,,,,\n")
