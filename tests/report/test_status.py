"""The round's state per agency (report.status.round_status) against the ledger it is read from: valid,
valid with warnings, not valid, superseded (valid and refused returns replaced), a refused correction after a
valid return, an unknown agency's file, missing agencies; contacts from the return or the registry."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from summary_factory import make_return, record

from pipeline.issues import issue
from pipeline.record.ledger import Ledger
from pipeline.report.status import ReturnKey, current_ids, round_status

RECEIVED = {  # agency → (ledger status, received at) of each file, in the order they were recorded
    "STC": [("accepted", "2007-09-20T08:00:00")],
    "SNV": [("accepted_with_warnings", "2007-09-21T09:15:00")],
    "SYT": [("rejected", "2007-09-22T10:00:00")],
    "SKHDT": [("accepted", "2007-09-18T08:00:00"), ("accepted", "2007-09-25T14:30:00")],
    "SGTVT": [("rejected", "2007-09-19T08:00:00"), ("accepted", "2007-09-24T16:00:00")],
    "SXD": [("rejected", "2007-10-02T11:00:00"), ("accepted", "2007-09-26T08:00:00")],  # the refusal is newer
}
WARNING = issue("RULE_PLAUSIBLE", sheet="Hiện trạng", cell="D12", field="tong_so_may_tinh", value=900,
                context={"min": 0, "max": 500, "unit": "máy"})
ERRORS = [issue("VALUE_NOT_NUMBER", sheet="Hiện trạng", cell="D13", field="so_may_ket_noi_lan", value="chưa thống kê"),
          issue("RULE_REQUIRED", sheet="Kế hoạch", cell="D8", field="mt_tong_quat")]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory, spec, registry):
    ledger = Ledger(tmp_path_factory.mktemp("status") / "ledger.sqlite")
    run_id = ledger.start_run("test", 1)
    outputs = {}
    for code, files in RECEIVED.items():
        for n, (status, received_at) in enumerate(files):
            values, projects = make_return(spec, registry.by_code[code], seed=len(outputs) + n)
            if code == "SNV":
                values = {**values, "dien_thoai": "", "email_lien_he": None}  # no contact in the return
            issues = ERRORS if status == "rejected" else [WARNING] if status == "accepted_with_warnings" else []
            file = f"BM-UDCNTT-2007_{code}_{n}.xlsx"
            record(ledger, spec, code, values, projects, status=status, received_at=received_at, file=file,
                   issues=issues, salt=str(n))
            ledger.db.execute("UPDATE submissions SET run_id = ? WHERE file_name = ?", (run_id, file))
            if issues:
                outputs[f"feedback:{file}"] = f"out/feedback/phan_hoi_{code}_{n}.xlsx"
    unknown, projects = make_return(spec, registry.by_code["STP"], seed=99)
    record(ledger, spec, "", unknown, projects, status="rejected", received_at="2007-09-23T08:00:00",
           file="bao cao.xls", issues=[issue("FORM_AGENCY_MISSING")])
    ledger.finish_run(run_id, "completed", {}, outputs)
    yield ledger
    ledger.close()


@pytest.fixture(scope="module")
def status(ledger, spec, registry):
    return round_status(ledger, spec, registry, today=dt.date(2007, 9, 27))


def ledger_rows(ledger, code):
    return ledger.rows("SELECT * FROM submissions WHERE agency_code = ? ORDER BY received_at, id", [code])


def test_every_registry_agency_once_in_registry_order(spec, status, registry):
    assert [a.code for a in status.agencies] == [a.code for a in registry.of_round(spec).agencies]
    assert status.counts() == {"expected": 41, "received": 6, "missing": 35, "valid": 4, "valid_with_warnings": 1,
                               "not_valid": 1}
    assert (status.deadline, status.days_to_deadline) == (dt.date(2007, 9, 30), 3)


@pytest.mark.parametrize(("today", "key"), [
    (dt.date(2007, 9, 27), "status.days_left"), (dt.date(2007, 9, 30), "status.due_today"),
    (dt.date(2007, 12, 29), "status.days_late"),  # 90 days late: still counted
    (dt.date(2007, 12, 30), "status.deadline_passed"), (dt.date(2026, 12, 3), "status.deadline_passed"),
])
def test_a_deadline_long_past_is_said_to_have_passed_not_counted(ledger, spec, registry, today, key):
    """`ictplan status` and the desk share the line: a 2007 round looked at in 2026 is not "7003 days late"."""
    assert round_status(ledger, spec, registry, today=today).deadline_key == key


def test_states_follow_the_ledger(status, ledger):
    states = {a.code: a for a in status.agencies}
    assert {code: states[code].state for code in RECEIVED} == {
        "STC": "valid", "SNV": "valid_with_warnings", "SYT": "not_valid", "SKHDT": "valid", "SGTVT": "valid",
        "SXD": "valid"}
    for code in RECEIVED:
        rows, a = ledger_rows(ledger, code), states[code]
        assert [r.submission_id for r in a.returns] == [r["id"] for r in rows]  # every file, oldest first
        assert [(r.file, r.status, r.errors, r.warnings) for r in a.returns] == [
            (r["file_name"], r["status"], r["errors"], r["warnings"]) for r in rows]
        counted = [r["id"] for r in rows if r["counted"]]
        assert ([a.counted.submission_id] if a.counted else []) == counted
        assert a.latest.received_at == dt.datetime.fromisoformat(rows[-1]["received_at"])
        assert a.latest.recorded_at == dt.datetime.fromisoformat(rows[-1]["recorded_at"])


def test_superseded_returns_are_the_replaced_ones(status):
    states = {a.code: a for a in status.agencies}
    assert [r.state for r in states["SKHDT"].returns] == ["superseded", "valid"]
    assert [r.state for r in states["SGTVT"].returns] == ["superseded", "valid"]  # a refusal, then a valid file
    assert [r.state for r in states["SXD"].returns] == ["valid", "not_valid"]  # a valid file, then a refusal
    assert (states["SKHDT"].superseded, states["SXD"].superseded) == (1, 0)


def test_a_refused_correction_is_pending_and_on_the_to_do_list(status):
    states = {a.code: a for a in status.agencies}
    sxd = states["SXD"]
    assert sxd.counted.file == "BM-UDCNTT-2007_SXD_1.xlsx" and sxd.pending is sxd.latest
    assert sxd.latest.file == "BM-UDCNTT-2007_SXD_0.xlsx" and sxd.latest.status == "rejected"
    assert states["SGTVT"].pending is None and states["SYT"].pending is None
    to_do = [a.code for a in status.to_do()]
    assert "SYT" in to_do and "SXD" in to_do and "H-KYANH" in to_do
    assert not {"STC", "SNV", "SKHDT", "SGTVT"} & set(to_do)
    assert len(to_do) == 35 + 2


def test_feedback_is_the_one_the_recording_run_wrote(status):
    states = {a.code: a for a in status.agencies}
    assert states["SYT"].latest.feedback == "out/feedback/phan_hoi_SYT_0.xlsx"
    assert states["SNV"].latest.feedback == "out/feedback/phan_hoi_SNV_0.xlsx"
    assert states["STC"].latest.feedback is None
    assert states["SXD"].latest.feedback == "out/feedback/phan_hoi_SXD_0.xlsx"


def test_contacts_from_the_return_else_none_and_the_registry_office_always(status, ledger, registry):
    states = {a.code: a for a in status.agencies}
    values = json.loads(ledger_rows(ledger, "SYT")[-1]["values_json"])
    syt = states["SYT"].contact
    assert (syt.person, syt.phone, syt.email, syt.source) == (
        values["nguoi_lap"], values["dien_thoai"], values["email_lien_he"], "return")
    assert states["SNV"].contact is None  # its return left phone and e-mail blank
    assert states["H-KYANH"].contact is None
    office = states["H-KYANH"].office
    assert (office.phone, office.email) == (registry.by_code["H-KYANH"].phone, registry.by_code["H-KYANH"].email)
    assert office.phone == "039.864195"  # 2007: area code and a 6-digit local number


def test_unknown_agency_files_are_listed_apart(status):
    assert [(r.file, r.agency, r.state) for r in status.unattributed] == [("bao cao.xls", None, "not_valid")]


def test_json_carries_the_board_and_the_lists(status):
    data = json.loads(json.dumps(status.to_dict()))
    assert data["days_to_deadline"] == 3 and data["counts"]["missing"] == 35
    syt = next(a for a in data["agencies"] if a["code"] == "SYT")
    assert (syt["state"], syt["file"], syt["errors"], syt["received_at"]) == (
        "not_valid", "BM-UDCNTT-2007_SYT_0.xlsx", 2, "2007-09-22T10:00:00")
    assert syt["label_vi"] == "Chưa hợp lệ" and syt["needs_action"] is True
    missing = next(a for a in data["agencies"] if a["code"] == "H-KYANH")
    assert (missing["state"], missing["file"], missing["returns"]) == ("missing", None, [])


def test_current_ids_rule():
    def key(i, agency, status, counted, hour, sha="0"):
        return ReturnKey(i, agency, status, counted, f"2007-09-20T{hour:02d}:00:00", sha)

    rows = [key(1, "A", "accepted", False, 8), key(2, "A", "accepted", True, 9), key(3, "B", "rejected", False, 8),
            key(4, "B", "rejected", False, 9), key(5, "C", "accepted", True, 8), key(6, "C", "quarantined", False, 9),
            key(7, None, "rejected", False, 8)]
    assert current_ids(rows) == current_ids(reversed(rows)) == {2, 4, 5, 6, 7}
    # received at the same time: the hash decides which is newer, as the ledger's supersede rule does
    tie = [key(8, "D", "rejected", False, 10, "b"), key(9, "D", "rejected", False, 10, "a")]
    assert current_ids(tie) == current_ids(reversed(tie)) == {8}
