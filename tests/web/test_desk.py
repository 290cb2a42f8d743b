"""The desk through HTTP, without a browser (Starlette's TestClient): what each page shows and records, and
every guard: CSRF, limits, names, downloads, the staff password, the shared run lock."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
import warnings

import hostile
import pytest
from click.testing import CliRunner
from conftest import csrf_of

from pipeline.cli import cli
from pipeline.record.ledger import Ledger
from pipeline.record.lock import RunLock
from pipeline.run import consolidate
from pipeline.web import app as web_app
from pipeline.web import desk as web_desk
from pipeline.web.security import load_password, store_password, verify_password
from pipeline.web.server import ServeError, make_app, password_path
from pipeline.web.uploads import safe_name, save_into_inbox

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's note that it would prefer httpx2
    from starlette.testclient import TestClient

LOCAL = "http://127.0.0.1"


def client_for(spec, registry, paths, *, host: str = "127.0.0.1") -> TestClient:
    return TestClient(make_app(spec, registry, paths, host=host, warm=False), base_url=f"http://{host}")


@pytest.fixture
def client(spec, registry, recorded) -> TestClient:
    return client_for(spec, registry, recorded)


def token(client: TestClient, page: str = "/upload") -> str:
    return csrf_of(client.get(page).text)


def post_files(client: TestClient, url: str, files: list[tuple[str, bytes]], **extra) -> object:
    data = {"csrf": token(client), **extra}
    return client.post(url, data=data, files=[("files", f) for f in files])


def ledger_rows(paths) -> list[dict]:
    with Ledger(paths.db) as ledger:
        return ledger.submissions()


def bad_agency(returns) -> str:
    """An agency not recorded beforehand, whose return with mistakes is rejected."""
    return [key.split(":")[0] for key in returns if key.endswith(":bad")][5]


# --- the board -------------------------------------------------------------------------------------------------

def test_board_lists_every_agency_with_its_state_and_counts(spec, client, registry):
    page = client.get("/").text
    rows = re.findall(r'<tr class="state-(\w+)" data-agency="([^"]+)"', page)
    assert [code for _, code in rows] == [a.code for a in registry.of_round(spec).agencies]
    assert {code: state for state, code in rows if state != "missing"} == {
        a.code: "valid" for a in registry.of_round(spec).agencies[:2]}
    assert f'<span class="n" data-state="missing">{len(registry.of_round(spec).agencies) - 2}</span>' in page
    assert '<p class="deadline">Hạn gửi báo cáo: 30/09/2007' in page
    missing = client.get("/?state=missing").text
    assert len(re.findall(r"data-agency=", missing)) == len(registry.of_round(spec).agencies) - 2
    found = client.get("/?q=tai chinh").text  # without accents: Sở Tài chính
    assert re.findall(r'data-agency="([^"]+)"', found) == ["STC"]


@pytest.mark.parametrize(("today", "line"), [
    (dt.date(2007, 9, 20), "Hạn gửi báo cáo: 30/09/2007, còn 10 ngày."),
    (dt.date(2007, 9, 30), "Hạn gửi báo cáo: hôm nay, 30/09/2007."),
    (dt.date(2007, 10, 12), "Hạn gửi báo cáo: 30/09/2007, đã quá hạn 12 ngày."),
    (dt.date(2007, 12, 29), "Hạn gửi báo cáo: 30/09/2007, đã quá hạn 90 ngày."),
    (dt.date(2007, 12, 30), "Hạn gửi báo cáo: 30/09/2007 (đã qua)."),  # long past: no count of days
    (dt.date(2026, 12, 3), "Hạn gửi báo cáo: 30/09/2007 (đã qua)."),
])
def test_the_deadline_line_counts_the_days_until_the_deadline_is_long_past(client, today, line):
    client.app.pages.config.today = today
    assert f'<p class="deadline">{line}</p>' in client.get("/").text


def test_board_shows_when_each_file_was_received_and_how_it_stands_against_the_deadline(
        paths, returns, spec, registry):
    """"Nhận lúc" is the ledger's received time (the file's time in the inbox), not the day the board is
    looked at; a file long after the deadline is "more than 90 days late", not thousands of days."""
    paths.inbox.mkdir(parents=True)
    received = {registry.of_round(spec).agencies[0].code: dt.datetime(2007, 9, 25, 10, 30),
                registry.of_round(spec).agencies[1].code: dt.datetime(2007, 10, 3, 8, 5),
                registry.of_round(spec).agencies[2].code: dt.datetime(2026, 12, 3, 9, 0)}
    for code, moment in received.items():
        copy = paths.inbox / returns[code].name
        copy.write_bytes(returns[code].read_bytes())
        os.utime(copy, (moment.timestamp(), moment.timestamp()))
    consolidate(paths, spec, registry)
    client = client_for(spec, registry, paths)
    client.app.pages.config.today = dt.date(2026, 12, 3)
    page = client.get("/").text
    cells = {code: re.search(rf'data-agency="{code}".*?</tr>', page, re.S)[0] for code in received}
    expected = {"25/09/2007 10:30": "đúng hạn", "03/10/2007 08:05": "trễ 3 ngày", "03/12/2026 09:00": "trễ hơn 90 ngày"}
    for (code, row), (when, against) in zip(cells.items(), expected.items(), strict=True):
        assert f"<td>{when}</td>" in row and f"<td>{against}</td>" in row, (code, row)
    assert "Hạn gửi báo cáo: 30/09/2007 (đã qua)." in page


def test_board_switches_to_english_and_remembers_it(client):
    page = client.get("/?lang=en")
    assert "Returns received, round" in page.text and "Not received" in page.text
    assert "ictplan_lang=en" in page.headers["set-cookie"]
    assert "Returns received, round" in client.get("/").text  # the cookie keeps it
    assert "Tình hình nộp báo cáo" in client.get("/?lang=vi").text
    assert 'href="/?state=missing&amp;lang=en"' in client.get("/?state=missing").text  # the filter kept


def test_board_as_json_is_the_report_stages_round_status(spec, client, recorded, registry):
    status = client.get("/api/board").json()
    assert [a["code"] for a in status["agencies"]] == [a.code for a in registry.of_round(spec).agencies]
    ids = {r["agency_code"]: r["id"] for r in ledger_rows(recorded)}
    assert {a["code"]: a["returns"][0]["submission_id"] for a in status["agencies"] if a["returns"]} == ids
    assert status["counts"]["valid"] == 2 and status["deadline"] == "2007-09-30"
    for submission_id in ids.values():
        assert f'href="/return/{submission_id}"' in client.get("/").text
        assert client.get(f"/return/{submission_id}").status_code == 200


# --- upload --------------------------------------------------------------------------------------------------

def test_upload_saves_checks_and_records_each_file_with_issues_at_their_cells(spec, client, recorded, returns, registry):
    code = bad_agency(returns)
    clean_code = registry.of_round(spec).agencies[3].code
    sent = [(returns[f"{code}:bad"].name, returns[f"{code}:bad"].read_bytes()),
            (returns[clean_code].name, returns[clean_code].read_bytes())]
    page = post_files(client, "/upload", sent)
    assert page.status_code == 200
    rows = {r["file_name"]: r for r in ledger_rows(recorded)}
    bad = rows[sent[0][0]]
    assert bad["status"] == "rejected" and rows[sent[1][0]]["status"] == "accepted"
    with Ledger(recorded.db) as ledger:
        issues = [i for i in ledger.issues([bad["id"]])[bad["id"]] if i.severity == "error"]
    assert issues
    for issue in issues:  # every error at its sheet and cell, in the page's words
        assert f"<td class=\"where\">{issue.where('vi')}" in page.text.replace("&#39;", "'")
    feedback = re.search(r'<section class="result status-rejected" data-file="[^"]+">.*?href="/files/([^"]+)"',
                         page.text, re.S)[1]
    workbook = client.get(f"/files/{feedback}")
    assert workbook.status_code == 200 and workbook.content[:2] == b"PK"
    assert (recorded.inbox / sent[0][0]).read_bytes() == sent[0][1]  # saved as sent, under its own name
    assert f'href="/return/{bad["id"]}"' in page.text
    board = client.get("/").text
    assert f'data-agency="{clean_code}" data-state="valid"' in board
    assert f'data-agency="{code}" data-state="not_valid"' in board


def test_a_hostile_file_gets_its_message_and_the_desk_keeps_serving(client, recorded):
    page = post_files(client, "/upload", [("bao_cao.xlsx", hostile.ratio_bomb()),
                                          ("trang.xlsx", hostile.html_as_xlsx())])
    assert page.status_code == 200
    statuses = {r["file_name"]: r["status"] for r in ledger_rows(recorded)}
    assert statuses["bao_cao.xlsx"] == "rejected" and statuses["trang.xlsx"] == "rejected"
    assert "nén" in page.text  # the zip-bomb message, in Vietnamese
    assert client.get("/").status_code == 200


def test_uploaded_names_are_never_used_as_paths(client, recorded, tmp_path):
    names = ["../../escape.xlsx", "..\\..\\win.xlsx", "/etc/passwd", "CON.xlsx", ".hidden.xlsx"]
    post_files(client, "/upload", [(n, hostile.empty()) for n in names])
    inside = sorted(p.name for p in recorded.inbox.iterdir() if p.is_file())
    assert {"escape.xlsx", "win.xlsx", "passwd", "_CON.xlsx", "hidden.xlsx"} <= set(inside)
    assert not list(tmp_path.glob("escape*")) and not list(tmp_path.rglob("win.xlsx"))[1:]


@pytest.mark.parametrize(("sent", "saved"), [
    ("BM-UDCNTT-2007_v1.0_STC.xlsx", "BM-UDCNTT-2007_v1.0_STC.xlsx"),
    ("Báo cáo Sở Tài chính.XLSX", "Báo cáo Sở Tài chính.xlsx"),
    ("C:\\Users\\van thu\\STC.xls", "STC.xls"),
    ("../../../etc/cron.d/x", "x"),
    ("  ..  ", "tep_tai_len"),
    ("nul.txt", "_nul.txt"),
    ("a<b>c:d|e?.ods", "a_b_c_d_e_.ods"),
    ("x" * 300 + ".xlsx", "x" * 80 + ".xlsx"),
    ("STC.xlsx.exe\u202e", "STC.xlsx.exe"),
    ("a\x00b\x1f.xlsx", "ab.xlsx"),
])
def test_safe_name(sent, saved):
    assert safe_name(sent) == saved


def test_two_uploads_of_one_name_at_once_both_land(tmp_path):
    contents = [f"return {n}".encode() for n in range(16)]
    threads = [threading.Thread(target=save_into_inbox, args=(tmp_path, "STC.xlsx", data)) for data in contents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    files = [p for p in tmp_path.iterdir() if p.is_file()]
    assert sorted(p.read_bytes() for p in files) == sorted(contents)
    assert {p.name for p in files} == {"STC.xlsx", *(f"STC ({n}).xlsx" for n in range(2, 17))}


def test_two_uploads_through_the_desk_at_once_are_both_recorded(spec, client, recorded, returns, registry):
    codes = [a.code for a in registry.of_round(spec).agencies[2:4]]
    results = []
    csrf = token(client)  # the browser's cookie, before both of its tabs send

    def send(code: str) -> None:
        results.append(client.post("/upload", data={"csrf": csrf}, files=[
            ("files", ("bao_cao.xlsx", returns[code].read_bytes()))]).status_code)

    threads = [threading.Thread(target=send, args=(code,)) for code in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200, 200]
    recorded_codes = {r["agency_code"] for r in ledger_rows(recorded) if r["file_name"].startswith("bao_cao")}
    assert recorded_codes == set(codes)


def test_an_upload_waits_for_a_cli_run_then_leaves_the_files_in_the_inbox(spec, client, recorded, returns, registry,
                                                                          monkeypatch):
    monkeypatch.setattr(web_desk, "LOCK_WAIT", 0.5)
    code = registry.of_round(spec).agencies[4].code
    with RunLock(recorded.lock):  # what `ictplan consolidate` holds while it runs
        page = post_files(client, "/upload", [(returns[code].name, returns[code].read_bytes())])
    assert "Một phiên tổng hợp khác đang chạy" in page.text
    assert (recorded.inbox / returns[code].name).is_file()
    assert code not in {r["agency_code"] for r in ledger_rows(recorded)}
    job = client.post("/consolidate", data={"csrf": token(client)}, follow_redirects=False)
    wait_for_job(client, job.headers["location"])
    assert code in {r["agency_code"] for r in ledger_rows(recorded)}


def test_an_upload_onto_a_corrupt_ledger_is_kept_and_said(spec, client, recorded, returns, registry):
    code = registry.of_round(spec).agencies[4].code
    recorded.db.write_bytes(b"not a database" * 100)
    for stale in recorded.db.parent.glob("ledger.sqlite-*"):  # its WAL and shared memory
        stale.unlink()
    page = post_files(client, "/upload", [(returns[code].name, returns[code].read_bytes())])
    assert page.status_code == 200 and "chưa ghi sổ được" in page.text
    assert (recorded.inbox / returns[code].name).read_bytes() == returns[code].read_bytes()
    assert client.get("/self-check").status_code == 200
    board = client.get("/")
    assert board.status_code == 503 and "Không hoàn thành được" in board.text


# --- limits and CSRF -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/upload", "/self-check", "/consolidate", "/login", "/logout"])
def test_every_post_needs_the_csrf_token(client, recorded, url):
    before = len(ledger_rows(recorded))
    files = [("files", ("STC.xlsx", b"x"))]
    assert client.post(url, data={}, files=files).status_code == 403
    assert client.post(url, data={"csrf": "forged"}, files=files).status_code == 403
    other_site = client.post(url, data={"csrf": token(client)}, files=files, headers={"origin": "http://evil.test"})
    assert other_site.status_code == 403
    assert len(ledger_rows(recorded)) == before and not list(recorded.inbox.glob("STC*"))


def test_too_many_files_are_refused_with_a_message(client, recorded):
    page = post_files(client, "/upload", [(f"{n}.xlsx", b"x") for n in range(web_app.MAX_FILES + 1)])
    assert page.status_code == 400 and "tối đa" in page.text.lower()
    assert not [p for p in recorded.inbox.iterdir() if p.is_file() and p.name.endswith(".xlsx")
                and p.name[0].isdigit()]


def test_a_file_over_the_size_limit_is_not_saved(client, recorded, monkeypatch):
    monkeypatch.setattr(web_app, "MAX_FILE_BYTES", 1000)
    page = post_files(client, "/upload", [("lon.xlsx", b"x" * 2000)])
    assert page.status_code == 400 and "lon.xlsx" in page.text
    assert not (recorded.inbox / "lon.xlsx").exists()


def test_a_body_over_the_limit_is_refused(client, recorded, monkeypatch):
    monkeypatch.setattr(web_app, "MAX_BODY_BYTES", 10_000)
    page = post_files(client, "/upload", [("lon.xlsx", b"x" * 20_000)])
    assert page.status_code == 413 and "MB" in page.text
    assert not (recorded.inbox / "lon.xlsx").exists()
    assert client.get("/").status_code == 200


# --- downloads and headers -----------------------------------------------------------------------------------

def test_downloads_come_only_from_the_output_folder(client, recorded, tmp_path):
    summary = next(recorded.out.glob("tong_hop_*.xlsx")).name
    answer = client.get(f"/files/{summary}")
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    assert client.get("/files/data/indicators.csv").status_code == 200
    archived = next((recorded.out / "archive").iterdir())
    store_password(password_path(recorded.db), "mat-khau-so")
    (tmp_path / "secret.xlsx").write_bytes(b"PK secret")
    (recorded.out / "link.xlsx").symlink_to(tmp_path / "secret.xlsx")
    for path in ["ledger.sqlite", f"archive/{archived.name}", "desk_password.json", "../secret.xlsx",
                 "..%2Fsecret.xlsx", "%2e%2e/secret.xlsx", "link.xlsx", "/etc/passwd", "data/../ledger.sqlite"]:
        assert client.get(f"/files/{path}").status_code == 404, path


def test_every_answer_carries_the_security_headers(client):
    for url in ["/", "/self-check", "/static/desk.css", "/files/nothing.xlsx", "/return/999"]:
        headers = client.get(url).headers
        assert "default-src 'self'" in headers["content-security-policy"], url
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"


def test_a_foreign_host_name_is_refused(client):
    assert client.get("/", headers={"host": "attacker.example"}).status_code == 421


# --- self-check ----------------------------------------------------------------------------------------------

def test_self_check_shows_what_would_be_refused_and_records_nothing(client, recorded, returns):
    code = bad_agency(returns)
    before, inbox = ledger_rows(recorded), sorted(recorded.inbox.iterdir())
    page = post_files(client, "/self-check", [(returns[f"{code}:bad"].name, returns[f"{code}:bad"].read_bytes())])
    assert "Nếu gửi bây giờ: Chưa hợp lệ" in page.text
    link = re.search(r'href="(/self-check/[^"]+)"', page.text)[1]
    written = client.app.pages.desk.scratch.glob("*/feedback/*/*.xlsx")
    assert not list(written)  # the feedback workbook is written when it is asked for, not before the answer
    workbook = client.get(link).content
    assert workbook[:2] == b"PK" and client.get(link).content == workbook
    assert len(list(client.app.pages.desk.scratch.glob("*/feedback/*/*.xlsx"))) == 1  # written once
    assert ledger_rows(recorded) == before and sorted(recorded.inbox.iterdir()) == inbox
    assert client.get(link.rsplit("/", 1)[0] + "/7").status_code == 404
    answer = client.post("/self-check", data={"csrf": token(client)}, headers={"accept": "application/json"},
                         files=[("files", ("x.xlsx", returns[code].read_bytes()))])
    assert answer.json()[0]["status"] == "accepted"


# --- consolidation and a return's page -----------------------------------------------------------------------

def wait_for_job(client: TestClient, url: str) -> str:
    import time

    for _ in range(300):
        page = client.get(url).text
        if 'http-equiv="refresh"' not in page:
            return page
        time.sleep(0.1)
    raise AssertionError("the consolidation did not finish")


def test_consolidate_shows_progress_then_links_to_every_output(spec, client, recorded, returns, registry):
    for code in [a.code for a in registry.of_round(spec).agencies[2:4]]:
        (recorded.inbox / returns[code].name).write_bytes(returns[code].read_bytes())
    answer = client.post("/consolidate", data={"csrf": token(client)}, follow_redirects=False)
    assert answer.status_code == 303
    page = wait_for_job(client, answer.headers["location"])
    assert 'id="done"' in page
    links = re.findall(r'href="/files/([^"]+)"', page)
    assert any(link.startswith("tong_hop_") for link in links)
    assert {"data/indicators.csv", "data/submissions.csv"} <= set(links)
    assert any(link.startswith("bao_cao_tong_hop_") and link.endswith(".docx") for link in links)  # the draft
    for link in links:
        assert client.get(f"/files/{link}").status_code == 200
    assert len(ledger_rows(recorded)) == 4


def test_a_returns_page_shows_values_with_cells_issues_and_history(client, recorded, returns, spec):
    code = bad_agency(returns)
    post_files(client, "/upload", [(f"{code}_lan1.xlsx", returns[f"{code}:bad"].read_bytes())])
    post_files(client, "/upload", [(f"{code}_lan2.xlsx", returns[code].read_bytes())])
    rows = [r for r in ledger_rows(recorded) if r["agency_code"] == code]
    latest = rows[-1]
    page = client.get(f"/return/{latest['id']}").text
    cells = json.loads(latest["cells_json"])
    sheet, cell = cells["tong_so_may_tinh"]
    assert f"{sheet}!{cell}" in page and spec.fields["tong_so_may_tinh"].vi in page
    assert page.count('<tr class="this">') == 1
    for row in rows:
        assert row["file_name"] in page
    first_bad = next(r for r in rows if r["status"] == "rejected")
    bad_page = client.get(f"/return/{first_bad['id']}").text
    assert 'class="sev-error"' in bad_page and "/files/feedback/" in bad_page
    assert client.get("/return/99999").status_code == 404


# --- serving the network -------------------------------------------------------------------------------------

def test_the_network_needs_the_staff_password(spec, registry, recorded):
    with pytest.raises(ServeError):
        make_app(spec, registry, recorded, host="0.0.0.0", warm=False)
    store_password(password_path(recorded.db), "mat-khau-so")
    lan = TestClient(make_app(spec, registry, recorded, host="0.0.0.0", warm=False), base_url="http://10.0.0.5:8000")
    for url in ["/", "/upload", "/return/1", "/outputs", "/api/board", f"/files/{next(recorded.out.glob('tong_hop_*')).name}"]:
        answer = lan.get(url, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), url
    assert lan.get("/self-check").status_code == 200  # agencies check their drafts without a password
    wrong = lan.post("/login", data={"csrf": token(lan, "/login"), "password": "doan-bua", "next": "/"})
    assert wrong.status_code == 403 and lan.get("/", follow_redirects=False).status_code == 303
    right = lan.post("/login", data={"csrf": token(lan, "/login"), "password": "mat-khau-so", "next": "//evil.test"},
                     follow_redirects=False)
    assert right.status_code == 303 and right.headers["location"] == "/"
    assert lan.get("/").status_code == 200
    lan.post("/logout", data={"csrf": token(lan, "/self-check")})
    assert lan.get("/", follow_redirects=False).status_code == 303


def test_set_password_stores_only_a_scrypt_hash(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["serve", "--out", str(out), "--set-password"], input="mat-khau-so\nmat-khau-so\n")
    assert result.exit_code == 0, result.output
    stored_text = (out / "desk_password.json").read_text()
    assert "mat-khau-so" not in stored_text
    stored = load_password(out / "desk_password.json")
    assert stored["kdf"] == "scrypt" and verify_password("mat-khau-so", stored)
    assert not verify_password("mat-khau-sai", stored)
    short = CliRunner().invoke(cli, ["serve", "--out", str(out), "--set-password"], input="ngan\nngan\n")
    assert short.exit_code == 2 and "8" in short.output


def test_serving_the_network_without_a_password_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["serve", "--out", str(tmp_path), "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "--set-password" in result.output

