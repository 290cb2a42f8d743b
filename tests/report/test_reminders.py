"""Reminders (report.reminders): one plain-text block per agency on the to-do list, in official Vietnamese or in
English — whom to contact, what is missing or wrong, the feedback workbook, the deadline."""

from __future__ import annotations

import datetime as dt

import pytest
from summary_factory import make_return, record

from pipeline.issues import issue
from pipeline.record.ledger import Ledger
from pipeline.report.reminders import MAX_LISTED, to_do_list

MANY = [issue("RULE_REQUIRED", sheet="Hiện trạng", cell=f"D{row}", field="tong_so_may_tinh") for row in range(10, 35)]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory, spec, registry):
    ledger = Ledger(tmp_path_factory.mktemp("reminders") / "ledger.sqlite")
    record(ledger, spec, "SYT", *make_return(spec, registry.by_code["SYT"], 1), status="rejected", issues=MANY)
    record(ledger, spec, "STP", *make_return(spec, registry.by_code["STP"], 2), status="quarantined",
           issues=[issue("SYS_INTERNAL_ERROR", context={"reason": "ZeroDivisionError"})])
    record(ledger, spec, "SXD", *make_return(spec, registry.by_code["SXD"], 3), received_at="2007-09-20T08:00:00")
    record(ledger, spec, "SXD", *make_return(spec, registry.by_code["SXD"], 4), status="rejected",
           received_at="2007-09-25T15:45:00", issues=MANY[:1], salt="again")
    yield ledger
    ledger.close()


def reminders(ledger, spec, registry, today=dt.date(2007, 9, 27), lang="vi"):
    _, found = to_do_list(ledger, spec, registry, today=today, lang=lang)
    return {r.agency.code: r for r in found}


def test_everyone_to_chase_and_no_one_else(ledger, spec, registry):
    found = reminders(ledger, spec, registry)
    assert list(found) == [a.code for a in registry.of_round(spec).agencies]  # 38 missing, SYT and STP not valid, SXD refused
    assert [r.open_return.file for r in found.values() if r.open_return] == [
        "BM-UDCNTT-2007_STP.xlsx", "BM-UDCNTT-2007_SXD.xlsx", "BM-UDCNTT-2007_SYT.xlsx"]


def test_a_missing_agency_is_asked_for_its_return_by_the_deadline(ledger, spec, registry):
    text = reminders(ledger, spec, registry)["H-KYANH"].text
    agency = registry.get("H-KYANH")
    assert text.splitlines()[:2] == ["Kính gửi: UBND huyện Kỳ Anh", f"Văn phòng đơn vị: điện thoại {agency.phone}; "
                                     f"thư điện tử {agency.email} (theo danh mục đơn vị)"]
    assert ("Đến ngày 27/09/2007, Sở Bưu chính, Viễn thông Hà Tĩnh chưa nhận được báo cáo của đơn vị theo biểu "
            "BM-UDCNTT-2007") in text
    assert "Đề nghị đơn vị khẩn trương hoàn thành báo cáo" in text and "(còn 3 ngày)" in text
    assert "hôm nay, ngày 30/09/2007" in reminders(ledger, spec, registry, today=dt.date(2007, 9, 30))["H-KYANH"].text
    assert "(đã quá hạn 5 ngày)" in reminders(ledger, spec, registry, today=dt.date(2007, 10, 5))["H-KYANH"].text
    late = reminders(ledger, spec, registry, today=dt.date(2007, 12, 29))["H-KYANH"].text  # 90 days: still counted
    assert "(đã quá hạn 90 ngày)" in late
    long_past = reminders(ledger, spec, registry, today=dt.date(2026, 12, 3))["H-KYANH"].text
    assert "Hạn gửi báo cáo là ngày 30/09/2007 (đã qua)." in long_past and "quá hạn" not in long_past


def test_a_refused_return_lists_its_errors_up_to_a_limit(ledger, spec, registry):
    reminder = reminders(ledger, spec, registry)["SYT"]
    listed = [line for line in reminder.text.splitlines() if line.startswith("  ")]
    assert listed == [f"  {n}. {i.message('vi')}" for n, i in enumerate(MANY[:MAX_LISTED], start=1)]
    assert f"… và {len(MANY) - MAX_LISTED} vấn đề khác (xem tệp phản hồi)." in reminder.text
    assert "chưa hợp lệ nên chưa được tổng hợp: 25 lỗi, 0 cảnh báo." in reminder.text
    assert len(reminder.issues) == len(MANY)


def test_a_refused_correction_says_the_earlier_return_still_counts(ledger, spec, registry):
    text = reminders(ledger, spec, registry)["SXD"].text
    assert "đơn vị gửi lại lúc 25/09/2007 15:45 chưa hợp lệ: 1 lỗi, 0 cảnh báo." in text
    assert "Báo cáo nhận lúc 20/09/2007 08:00" in text and "vẫn đang được dùng để tổng hợp" in text
    assert "gửi lại nếu muốn thay thế báo cáo trước" in text


def test_a_quarantined_file_is_the_department_s_to_review(ledger, spec, registry):
    text = reminders(ledger, spec, registry)["STP"].text
    assert "Sở sẽ liên hệ lại với đơn vị" in text and "Đề nghị đơn vị sửa" not in text


def test_english(ledger, spec, registry):
    found = reminders(ledger, spec, registry, lang="en")
    assert found["SYT"].text.startswith("To: Department of Health\n")
    assert "is not yet valid and is not counted (errors: 25, warnings: 0)." in found["SYT"].text
    assert "The deadline is 30/09/2007 (3 days left)." in found["H-KYANH"].text
    assert "Kính gửi" not in found["H-KYANH"].text


def test_no_contact_anywhere_says_so(ledger, spec, registry):
    from pipeline.form.registry import parse_registry

    bare = parse_registry("code,name_vi,name_en,group,group_vi,group_en,loai_don_vi,aliases\n"
                          "H-KYANH,UBND huyện Kỳ Anh,Ky Anh District,huyen,,,UBND_HUYEN,\n")
    text = reminders(ledger, spec, bare)["H-KYANH"].text
    assert "Chưa có số điện thoại, thư điện tử của đơn vị" in text
