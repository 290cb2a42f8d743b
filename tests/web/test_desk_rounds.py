"""The desk on every round of its ledger (issue 19): the board of each round with its own counts, deadline line
and agencies, picked by a link (`?round=`) that needs no script; uploads and self-checks go to the round the
page shows, into that round's folders; a round the ledger does not know is said, in both languages, never a
server error; the round's name is checked before it is used and escaped where it is shown."""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil

import pytest
from test_desk import client_for, ledger_rows, post_files, token

from pipeline.form.sample import write_samples
from pipeline.form.sample_results import write_results
from pipeline.run import Paths, consolidate
from pipeline.web import desk as web_desk

PLANS, REPORTS = 3, 2  # agencies with a plan recorded, and with a 2008 report recorded


@pytest.fixture(scope="module")
def pools(tmp_path_factory, spec, registry, report_spec):
    """Plans and 2008 reports of the first agencies, clean; and a 2008 report with mistakes."""
    root = tmp_path_factory.mktemp("round_pools")
    plans = [p for p, _ in write_samples(spec, registry, root / "plans", count=PLANS + 1, seed=2007)]
    reports = [p for p, _ in write_results(report_spec, registry, root / "reports", count=REPORTS + 1, seed=2008,
                                           plan_seed=2007)]
    bad = [(p, s) for p, s in write_results(report_spec, registry, root / "bad", count=6, seed=2008,
                                            plan_seed=2007, error_rate=1.0)]
    return {"plans": plans, "reports": reports, "bad": next(p for p, s in bad if s.mistakes)}


@pytest.fixture
def two_rounds(tmp_path, spec, registry, report_spec, pools) -> Paths:
    """The layout `ictplan demo` writes: the plans' round in out/, the 2008 round in out/2008/, one ledger."""
    plans = Paths(tmp_path / "inbox", tmp_path / "out", tmp_path / "out" / "ledger.sqlite")
    reports = Paths(plans.out / "2008" / "inbox", plans.out / "2008", plans.db)
    for folder, files in ((plans.inbox, pools["plans"][:PLANS]), (reports.inbox, pools["reports"][:REPORTS])):
        folder.mkdir(parents=True)
        for path in files:
            shutil.copy2(path, folder)
    consolidate(plans, spec, registry)
    consolidate(reports, report_spec, registry)
    return plans


@pytest.fixture
def client(spec, registry, two_rounds):
    return client_for(spec, registry, two_rounds)


def states(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-agency="([^"]+)" data-state="(\w+)"', page))


def count(page: str, state: str) -> int:
    return int(re.search(rf'<span class="n" data-state="{state}">(\d+)</span>', page)[1])


def test_the_board_links_every_round_of_the_ledger_and_shows_each_with_its_own_figures(client, registry):
    plans = client.get("/").text
    links = re.findall(r'<a href="(/\?round=[^"]+)" data-round="([^"]+)"( aria-current="page")?', plans)
    assert [(href, r, bool(current)) for href, r, current in links] == [
        ("/?round=2007-2010", "2007-2010", True), ("/?round=2008", "2008", False)]
    assert "Kỳ 2008 (BM-BCTH-2008): 2 tệp, 2 báo cáo được tính" in plans
    reports = client.get("/?round=2008").text
    assert "Tình hình nộp báo cáo, kỳ 2008" in reports
    assert re.search(r'data-round="2008" aria-current="page"', reports)
    assert '<p class="deadline">Hạn gửi báo cáo: 31/01/2009 (đã qua).</p>' in reports
    assert '<p class="deadline">Hạn gửi báo cáo: 30/09/2007 (đã qua).</p>' in plans
    codes = [a.code for a in registry.agencies]
    assert {c: s for c, s in states(plans).items() if s != "missing"} == {c: "valid" for c in codes[:PLANS]}
    assert {c: s for c, s in states(reports).items() if s != "missing"} == {c: "valid" for c in codes[:REPORTS]}
    assert (count(plans, "valid"), count(reports, "valid")) == (PLANS, REPORTS)
    assert count(reports, "missing") == len(states(reports)) - REPORTS  # of the agencies the 2008 round expects
    assert client.get("/api/board?round=2008").json()["round"] == "2008"
    assert client.get("/api/board").json()["counts"]["valid"] == PLANS


def test_the_deadline_line_is_the_rounds_own(client):
    client.app.pages.config.today = dt.date(2009, 1, 21)
    assert '<p class="deadline">Hạn gửi báo cáo: 31/01/2009, còn 10 ngày.</p>' in client.get("/?round=2008").text
    assert "Hạn gửi báo cáo: 30/09/2007 (đã qua)." in client.get("/").text


def test_a_rounds_page_keeps_its_round_in_every_link_and_form(client):
    page = client.get("/?round=2008").text
    assert 'href="/upload?round=2008"' in page and 'action="/consolidate?round=2008"' in page
    assert 'href="/?state=missing&amp;round=2008"' in page and 'href="/self-check?round=2008"' in page
    assert '<input type="hidden" name="round" value="2008">' in page  # the filter form (GET, without script)
    assert re.findall(r'data-agency="([^"]+)"', client.get("/?round=2008&state=valid").text) == \
        [c for c, s in states(page).items() if s == "valid"]
    summary = re.search(r'href="(/files/tong_hop_BM-BCTH-2008_2008\.xlsx\?round=2008)"', page)[1]
    answer = client.get(summary)
    assert answer.status_code == 200 and answer.content[:2] == b"PK"
    assert 'href="/?round=2008&amp;lang=en"' in page  # the language switch keeps it too
    plans = client.get("/").text  # the served round's own links stay as they were
    assert 'href="/upload"' in plans and "round=2007-2010&" not in plans


def test_a_2008_return_opens_with_its_own_forms_labels(client, two_rounds, report_spec):
    rows = {r["round"]: r for r in ledger_rows(two_rounds)}
    page = client.get(f"/return/{rows['2008']['id']}").text
    assert report_spec.fields["kp_cntt_2008"].vi in page
    assert 'href="/?round=2008"' in page  # back to its round's board


def test_an_upload_goes_to_the_round_the_page_shows(client, two_rounds, pools, registry):
    form = client.get("/upload?round=2008").text
    assert 'action="/upload?round=2008"' in form
    assert 'data-round="2008">Tệp gửi ở trang này được nhận vào kỳ 2008: BÁO CÁO TÌNH HÌNH THỰC HIỆN' in form
    assert "được nhận vào kỳ 2007-2010" in client.get("/upload").text
    report, plans_before = pools["reports"][REPORTS], client.get("/api/board").json()
    page = post_files(client, "/upload?round=2008", [(report.name, report.read_bytes())])
    assert page.status_code == 200 and "được nhận vào kỳ 2008" in page.text
    assert (two_rounds.out / "2008" / "inbox" / report.name).is_file()
    assert not (two_rounds.inbox / report.name).exists()
    recorded = next(r for r in ledger_rows(two_rounds) if r["file_name"] == report.name)
    assert recorded["round"] == "2008" and recorded["status"].startswith("accepted")
    code = registry.agencies[REPORTS].code
    assert states(client.get("/?round=2008").text)[code] == "valid"
    assert client.get("/api/board").json()["agencies"] == plans_before["agencies"]  # the plans' round unchanged
    job = client.post("/consolidate?round=2008", data={"csrf": token(client)}, follow_redirects=False)
    assert re.fullmatch(r"/consolidate/[\w-]+\?round=2008", job.headers["location"])


def test_a_self_check_checks_against_the_form_of_the_round_the_page_shows(client, two_rounds, pools):
    report = pools["reports"][REPORTS]
    before = ledger_rows(two_rounds)
    assert "theo mẫu BM-BCTH-2008 của kỳ 2008" in client.get("/self-check?round=2008").text
    page = post_files(client, "/self-check?round=2008", [(report.name, report.read_bytes())])
    assert "Nếu gửi bây giờ: Hợp lệ" in page.text and "theo mẫu BM-BCTH-2008 của kỳ 2008" in page.text
    plans_round = post_files(client, "/self-check", [(report.name, report.read_bytes())]).text
    assert "Nếu gửi bây giờ: Chưa hợp lệ" in plans_round and "2007-2010" in plans_round  # another round's form
    bad = pools["bad"]
    checked = post_files(client, "/self-check?round=2008", [(bad.name, bad.read_bytes())]).text
    link = html.unescape(re.search(r'class="feedback" href="([^"]+)"', checked)[1])
    assert link.endswith("?round=2008")
    assert client.get(link).content[:2] == b"PK"
    assert client.get(link.split("?")[0]).status_code == 404  # the served round's desk holds no such check
    assert ledger_rows(two_rounds) == before


@pytest.mark.parametrize("asked", ["2099", "2007-2011", "<script>alert(1)</script>", "../../etc", "2008/../..",
                                   "x" * 40, "%00", "2008 "])
def test_a_round_the_ledger_does_not_know_is_said_not_an_error(client, two_rounds, asked):
    for url in ["/", "/upload", "/self-check", "/outputs", "/api/board", "/files/ledger.sqlite"]:
        answer = client.get(url, params={"round": asked})
        assert answer.status_code == 404, url
        assert "<script>alert" not in answer.text
        assert "Các kỳ có trong sổ: 2007-2010, 2008." in answer.text, url
        assert html.escape(asked, quote=False) in answer.text or asked.strip() != asked
    links = re.findall(r'<li><a href="(/\?round=[^"]+)">', client.get("/", params={"round": asked}).text)
    assert links == ["/?round=2007-2010", "/?round=2008"]  # the rounds it holds, a link each
    english = client.get("/", params={"round": "2099", "lang": "en"}).text
    assert "The ledger holds no reporting round “2099”. Its rounds: 2007-2010, 2008." in english
    before = sorted(p.name for p in two_rounds.out.rglob("*") if p.is_file())
    sent = client.post("/upload", params={"round": asked}, data={"csrf": token(client)},
                       files=[("files", ("STC.xlsx", b"PK"))])
    assert sent.status_code == 404
    assert sorted(p.name for p in two_rounds.out.rglob("*") if p.is_file()) == before
    assert not list(two_rounds.inbox.glob("STC*"))


def test_a_round_not_in_the_ledger_is_unknown_even_with_a_bundled_spec(spec, registry, recorded):
    client = client_for(spec, registry, recorded)  # a ledger of the plans' round only
    answer = client.get("/?round=2008")
    assert answer.status_code == 404 and "Các kỳ có trong sổ: 2007-2010." in answer.text
    assert 'class="rounds"' not in client.get("/").text  # one round: no picker


def test_a_round_of_the_ledger_without_a_spec_is_said(client, monkeypatch):
    monkeypatch.setattr(web_desk.Desk, "_spec_of", lambda self, round_: None)
    answer = client.get("/?round=2008")
    assert answer.status_code == 404 and "không tìm thấy tệp đặc tả mẫu biểu" in answer.text
    assert client.get("/").status_code == 200


def test_no_file_of_another_round_or_an_inbox_is_downloaded_through_the_served_round(client, two_rounds):
    """`ictplan demo` keeps the 2008 round's folder, and its inbox, inside the plans' output folder: the
    agencies' own files there are never a download, from either round's desk."""
    report = next((two_rounds.out / "2008" / "inbox").glob("*.xlsx"))
    (two_rounds.out / "inbox").mkdir()  # the plans' inbox inside the output folder, as `make serve` has it
    shutil.copy2(report, two_rounds.out / "inbox" / "STC.xlsx")
    report = report.name
    for path in [f"2008/inbox/{report}", "2008/tong_hop_BM-BCTH-2008_2008.xlsx", "inbox/STC.xlsx",
                 "2008/data/indicators.csv", "archive/x.xlsx"]:
        assert client.get(f"/files/{path}").status_code == 404, path
        assert client.get(f"/files/{path}", params={"round": "2008"}).status_code == 404, path
    assert client.get("/files/data/indicators.csv", params={"round": "2008"}).status_code == 200


def test_the_desk_served_on_round_2008(report_spec, registry, two_rounds, pools):
    """`ictplan serve --round 2008 --out <out>/2008`: the 2008 board first, its links plain, the plans' round a link."""
    reports = Paths(two_rounds.out / "2008" / "inbox", two_rounds.out / "2008", two_rounds.db)
    client = client_for(report_spec, registry, reports)
    page = client.get("/").text
    assert "Tình hình nộp báo cáo, kỳ 2008" in page and count(page, "valid") == REPORTS
    assert re.search(r'data-round="2008" aria-current="page"', page) and 'data-round="2007-2010"' in page
    assert 'href="/upload"' in page
    report = pools["reports"][REPORTS]
    post_files(client, "/upload", [(report.name, report.read_bytes())])
    assert (reports.inbox / report.name).is_file()
    assert count(client.get("/").text, "valid") == REPORTS + 1
    assert count(client.get("/?round=2007-2010").text, "valid") == PLANS
