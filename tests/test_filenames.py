"""Names we write are ones Windows accepts and Excel opens (pipeline.filenames; issue 21)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.filenames import EXCEL_PATH_LIMIT, fit_name, name_problem, shorten


@pytest.mark.parametrize("name", ["a<b", "a>b", 'a"b', "a/b", "a\\b", "a|b", "a?b", "a*b", "a:b", "a\tb",
                                  "a\x00b", "bao cao.", "bao cao ", "CON", "con.xlsx", "Nul.tar.gz", "COM1.csv",
                                  "lpt9", "COM¹", "AUX .txt"])
def test_names_windows_refuses(name):
    assert name_problem(name) is not None


@pytest.mark.parametrize("name", ["tong_hop_BM-UDCNTT-2007_2008-2010.xlsx", "Báo cáo Sở Tài chính.xlsx",
                                  "CONSOLE.xlsx", "phan_hoi_CON.xlsx", "2008-2010", "v1.0", "COM10"])
def test_names_windows_accepts(name):
    assert name_problem(name) is None


def test_a_name_that_fits_is_kept(tmp_path: Path):
    assert fit_name(tmp_path, "phan_hoi_STC_bao_cao.xlsx") == "phan_hoi_STC_bao_cao.xlsx"


def test_a_long_name_is_shortened_the_same_way_every_time(tmp_path: Path):
    folder = tmp_path / ("Phòng Công nghệ thông tin " * 4)
    names = ["phan_hoi_STC_" + "Bao_cao_ke_hoach_ung_dung_CNTT_" * 5 + tail + ".xlsx" for tail in ("a", "b")]
    short = [fit_name(folder, name) for name in names]
    assert short == [fit_name(folder, name) for name in names]  # deterministic
    assert short[0] != short[1]  # names that begin alike stay apart
    for name in short:
        assert len(str(folder.absolute() / name)) == EXCEL_PATH_LIMIT and name.endswith(".xlsx")
        assert name.startswith("phan_hoi_STC_Bao_cao") and "~" in name


def test_a_folder_too_long_for_any_name_still_gets_a_short_one(tmp_path: Path):
    name = fit_name(tmp_path / ("x" * 300), "phan_hoi_STC_bao_cao.xlsx")
    assert name.endswith(".xlsx") and len(name) <= len("p~12345678.xlsx") + 1


def test_shorten():
    assert shorten("abc", 3) == "abc"
    cut = shorten("a" * 50, 20)
    assert len(cut) == 20 and cut.startswith("a" * 11 + "~") and cut == shorten("a" * 50, 20)
