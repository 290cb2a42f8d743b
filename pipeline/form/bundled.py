"""Where the department's two editable files are: `workbook_templates/form_spec.yaml` and `agencies.csv`.

In a checkout, and in an editable install (`pip install -e .`, what `make` does), they are read beside the
source, where the department edits them. A plain install (`pip install .`, `pipx install .`: how a Windows
PC gets the `ictplan` command without make) puts the package in site-packages, away from that folder, so the
wheel carries copies as data files (pyproject's `data-files`), installed under
`<prefix>/share/ictplan/workbook_templates/`; they are found there. Another province's files are given with
--spec and --registry either way.
"""

from __future__ import annotations

import contextlib
import sys
import sysconfig
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "workbook_templates"
INSTALLED = Path("share") / "ictplan" / "workbook_templates"  # below the install scheme's data folder


def bundled(name: str) -> Path:
    """`workbook_templates/<name>` beside the source if it is there, else as a plain install put it; where it
    was first looked for when it is nowhere (the error then names that path)."""
    source = SOURCE / name
    if source.exists():
        return source
    for prefix in _data_folders():
        installed = prefix / INSTALLED / name
        if installed.exists():
            return installed
    return source


def _data_folders() -> list[Path]:
    """The install schemes' data folders: this environment's (a venv, pipx's), then the user's (pip --user)."""
    folders = [Path(sys.prefix), Path(sysconfig.get_path("data"))]
    with contextlib.suppress(KeyError, ValueError):  # no user scheme here
        folders.append(Path(sysconfig.get_path("data", sysconfig.get_preferred_scheme("user"))))
    return folders
