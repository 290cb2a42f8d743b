"""The desk in a real browser: Debian's Chromium, headless, driven by Playwright (which downloads nothing: it is
pointed at /usr/bin/chromium). A real uvicorn server on a free loopback port serves a round of 35 recorded
returns; the browser uploads three more (one clean, one with mistakes, one ZIP bomb), sees the board change,
opens a return's page, consolidates, downloads the summary and runs a self-check; then picks the 2008 round
of the same ledger on the board (a plain link) and uploads a 2008 report into it.

Skips, saying why, where Chromium or Playwright is missing (`.ci/run` installs Chromium). With
ICTPLAN_UPDATE_SCREENSHOTS=1 the board's and a return's screenshots are written into docs/ for the README."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import hostile
import pytest

from pipeline.form.sample import write_samples
from pipeline.form.sample_results import write_results
from pipeline.run import Paths, consolidate
from pipeline.web.server import make_app

CHROMIUM = Path(os.environ.get("ICTPLAN_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
DOCS = Path(__file__).resolve().parents[2] / "docs"

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]')")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason=f"no Chromium at {CHROMIUM}: apt-get install chromium chromium-driver")


@pytest.fixture
def desk_round(tmp_path, spec, registry, report_spec):
    """The demo's round, 35 of its 41 returns recorded; the other agencies' files kept aside to upload."""
    pool = tmp_path / "pool"
    written = write_samples(spec, registry, pool, seed=2007, error_rate=0.15)
    paths = Paths(tmp_path / "inbox", tmp_path / "out", tmp_path / "out" / "ledger.sqlite")
    paths.inbox.mkdir()
    aside = {}
    for n, (path, sample) in enumerate(written):
        if n < 35:
            shutil.copy2(path, paths.inbox)  # with its time: when the department received it, in 2007
        elif sample.mistakes and "bad" not in aside:
            aside["bad"] = (sample.agency.code, path)
        elif not sample.mistakes and "clean" not in aside:
            aside["clean"] = (sample.agency.code, path)
    consolidate(paths, spec, registry)
    # the next round in the same ledger, in the folder `ictplan demo` gives it: 30 of the 2008 reports
    reports = Paths(paths.out / "2008" / "inbox", paths.out / "2008", paths.db)
    reports.inbox.mkdir(parents=True)
    written = write_results(report_spec, registry, tmp_path / "pool2008", count=31, seed=2008, plan_seed=2007)
    for path, _ in written[:30]:
        shutil.copy2(path, reports.inbox)
    consolidate(reports, report_spec, registry)
    aside["2008"] = (written[30][1].agency.code, written[30][0])
    bomb = tmp_path / "bao_cao_nen.xlsx"
    bomb.write_bytes(hostile.ratio_bomb())
    aside["hostile"] = (None, bomb)
    return paths, aside


@pytest.fixture
def server(desk_round, spec, registry):
    import uvicorn

    paths, aside = desk_round
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = make_app(spec, registry, paths)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(100):
        if running.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", paths, aside
    running.should_exit = True
    thread.join(10)
    app.pages.desk.close()


@pytest.fixture
def page():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        yield context.new_page()
        browser.close()


def state_of(page, code: str) -> str:
    return page.get_attribute(f'tr[data-agency="{code}"]', "data-state")


def screenshot(page, name: str, tmp_path: Path) -> Path:
    target = DOCS / name if os.environ.get("ICTPLAN_UPDATE_SCREENSHOTS") else tmp_path / name
    page.screenshot(path=str(target), full_page=False)
    return target


def drop(page, target: str, path: Path) -> None:
    """Drop a file on `target` as a file manager would: a drop event carrying it in its DataTransfer."""
    import base64

    transfer = page.evaluate_handle(
        """([name, data]) => { const t = new DataTransfer();
             const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
             t.items.add(new File([bytes], name)); return t; }""",
        [path.name, base64.b64encode(path.read_bytes()).decode()])
    page.dispatch_event(target, "dragover", {"dataTransfer": transfer})
    page.dispatch_event(target, "drop", {"dataTransfer": transfer})


def test_the_desk_in_a_browser(spec, server, page, tmp_path, registry):
    url, paths, aside = server
    clean_code, clean = aside["clean"]
    bad_code, bad = aside["bad"]

    page.goto(url + "/")
    assert page.locator("tr[data-agency]").count() == len(registry.of_round(spec).agencies)
    assert state_of(page, clean_code) == "missing" and state_of(page, bad_code) == "missing"
    received = page.locator("tr[data-agency] td:nth-child(4)").all_inner_texts()  # "Nhận lúc"
    assert sum(bool(re.fullmatch(r"\d\d/\d\d/2007 \d\d:\d\d", t)) for t in received) >= 30  # files' times
    assert page.inner_text("p.deadline") == "Hạn gửi báo cáo: 30/09/2007 (đã qua)."  # no count of 7,000 days
    missing_before = int(page.inner_text('.n[data-state="missing"]'))

    page.click("text=Nhận báo cáo >> nth=0")
    page.set_input_files("#files", [str(clean), str(bad), str(aside["hostile"][1])])
    page.click("#send")
    page.wait_for_selector("section.result")
    results = {s.get_attribute("data-file"): s for s in page.locator("section.result").all()}
    assert set(results) == {clean.name, bad.name, aside["hostile"][1].name}
    assert "Hợp lệ" in results[clean.name].inner_text()
    bad_text = results[bad.name].inner_text()
    assert "Chưa hợp lệ" in bad_text and re.search(r"ô [A-Z]+\d+", bad_text)  # each issue at its cell
    hostile_text = results[aside["hostile"][1].name].inner_text()
    assert "Chưa hợp lệ" in hostile_text and "nén" in hostile_text
    with page.expect_download() as feedback:
        results[bad.name].locator("a.feedback").click()
    assert feedback.value.suggested_filename.startswith("phan_hoi_")

    page.goto(url + "/")
    assert state_of(page, clean_code) == "valid" and state_of(page, bad_code) == "not_valid"
    assert int(page.inner_text('.n[data-state="missing"]')) == missing_before - 2
    shot = screenshot(page, "desk-board.png", tmp_path)
    assert shot.stat().st_size > 10_000

    page.click(f'tr[data-agency="{bad_code}"] a')
    page.wait_for_selector("table.values")
    assert "Số liệu và ô nguồn" in page.inner_text("main")
    assert page.locator("table.issues tr.sev-error").count() >= 1
    assert page.locator("table.history tr.this").count() == 1
    screenshot(page, "desk-return.png", tmp_path)

    page.goto(url + "/")
    page.click("#consolidate")
    page.wait_for_selector("#done", timeout=60_000)
    with page.expect_download() as summary:
        page.click(".outputs-summary a >> nth=0")
    saved = tmp_path / summary.value.suggested_filename
    summary.value.save_as(saved)
    assert saved.name.startswith("tong_hop_") and saved.read_bytes()[:2] == b"PK"

    recorded = len(list((paths.out / "archive").iterdir()))
    page.click("text=Đơn vị tự kiểm tra")
    drop(page, "label.drop", bad)  # this time dropped on the zone, as from the file manager
    assert page.inner_text("label.drop .chosen") == bad.name
    page.click("#send")
    page.wait_for_selector("section.result")
    assert "Nếu gửi bây giờ: Chưa hợp lệ" in page.inner_text("section.result")
    assert len(list((paths.out / "archive").iterdir())) == recorded  # nothing recorded

    page.click("#lang-switch")
    assert "Check a return before sending it" in page.inner_text("main")
    page.click("#lang-switch")

    # the 2008 round of the same ledger: picked on the board, its own figures; an upload goes into it
    page.goto(url + "/")
    assert page.get_attribute('nav.rounds a[aria-current="page"]', "data-round") == "2007-2010"
    page.click('nav.rounds a[data-round="2008"]')
    assert page.inner_text("h1") == "Tình hình nộp báo cáo, kỳ 2008"
    assert page.inner_text("p.deadline") == "Hạn gửi báo cáo: 31/01/2009 (đã qua)."
    report_code, report = aside["2008"]
    assert state_of(page, report_code) == "missing"
    missing_2008 = int(page.inner_text('.n[data-state="missing"]'))
    assert missing_2008 != missing_before - 2  # not the plans' round's figures
    page.click("text=Nhận báo cáo >> nth=0")
    assert "được nhận vào kỳ 2008" in page.inner_text("p.round-into")
    page.set_input_files("#files", [str(report)])
    page.click("#send")
    page.wait_for_selector("section.result")
    assert "Hợp lệ" in page.inner_text("section.result")
    page.click("main >> text=Tình hình nộp")
    assert page.inner_text("h1") == "Tình hình nộp báo cáo, kỳ 2008"
    assert state_of(page, report_code) == "valid"
    assert int(page.inner_text('.n[data-state="missing"]')) == missing_2008 - 1
    assert (paths.out / "2008" / "inbox" / report.name).is_file()
