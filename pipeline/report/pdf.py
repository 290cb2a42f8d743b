"""PDF copies of the summary workbook and the draft report, made by LibreOffice where it is installed: what
the printed pages look like, to check and to send. Optional: without LibreOffice (or without its Writer or
Calc part) nothing is converted and the caller says so.

Each conversion uses a LibreOffice profile of its own in a temporary folder, so that it neither waits for
nor disturbs a LibreOffice the user has open (two instances cannot share one profile).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

TIMEOUT = 300  # seconds for one conversion
_PAGE = re.compile(rb"/Type\s*/Page[^s]")


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(source: Path, out_dir: Path | None = None) -> Path | None:
    """Convert `source` to `<out_dir>/<stem>.pdf` (default: beside it); None when LibreOffice is absent or
    cannot open this kind of file."""
    program = soffice()
    if program is None:
        return None
    out = Path(out_dir or source.parent)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{source.stem}.pdf"
    target.unlink(missing_ok=True)  # LibreOffice exits 0 even when it cannot open the source: look for the file
    with tempfile.TemporaryDirectory(prefix="ictplan-lo-") as profile:
        try:
            subprocess.run([program, "--headless", f"-env:UserInstallation=file://{profile}", "--convert-to", "pdf",
                            "--outdir", str(out), str(source)], check=True, capture_output=True, timeout=TIMEOUT)
        except (subprocess.SubprocessError, OSError):
            return None
    return target if target.exists() else None


def page_count(pdf: Path) -> int:
    """Pages of a PDF written by LibreOffice (its page objects are never compressed into object streams)."""
    return len(_PAGE.findall(pdf.read_bytes()))


def page_sizes(pdf: Path) -> list[tuple[int, int]]:
    """Each page's (width, height) in points, from the /MediaBox of the page objects LibreOffice writes."""
    data = pdf.read_bytes()
    pages = re.findall(rb"/Type\s*/Page[^s].*?/MediaBox\s*\[\s*([\d.\s]+)\]", data, flags=re.S)
    sizes = [(round(float(box.split()[2])), round(float(box.split()[3]))) for box in pages]
    if not sizes:  # the MediaBox written before /Type
        boxes = re.findall(rb"/MediaBox\s*\[\s*[\d.]+\s+[\d.]+\s+([\d.]+)\s+([\d.]+)\s*\]", data)
        sizes = [(round(float(w)), round(float(h))) for w, h in boxes][:page_count(pdf)]
    return sizes
