"""Type into cells with LibreOffice Calc, as a clerk does, and save: run by the system python3 (python3-uno).

    /usr/bin/python3 lo_edit.py SOURCE TARGET EDITS_JSON

EDITS_JSON: [[sheet name, "D7", "2.003"], …]: each text is typed into its cell as a clerk types it, in the
en-US locale (Cell.setFormula parses it as Calc's input line does), so "2.003" becomes the number 2.003.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import uno  # python3-uno, from the system python3
from com.sun.star.beans import PropertyValue


def _prop(name: str, value: object) -> PropertyValue:
    prop = PropertyValue()
    prop.Name, prop.Value = name, value
    return prop


def main() -> None:
    source, target, edits = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    profile = tempfile.mkdtemp(prefix="lo-profile-")
    pipe = f"ictplan{os.getpid()}"
    office = subprocess.Popen(["soffice", "--headless", "--norestore", "--nologo", f"-env:UserInstallation=file://{profile}",
                               f"--accept=pipe,name={pipe};urp;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        for _ in range(120):
            try:
                context = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except Exception:
                time.sleep(0.5)
        desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.path.abspath(source)), "_blank", 0,
                                           (_prop("Hidden", True),))
        for sheet, cell, text in edits:
            doc.Sheets.getByName(sheet).getCellRangeByName(cell).setFormula(text)
        doc.storeToURL(uno.systemPathToFileUrl(os.path.abspath(target)), (_prop("FilterName", "Calc MS Excel 2007 XML"),))
        doc.close(True)
    finally:
        office.terminate()
        office.wait(timeout=60)


if __name__ == "__main__":
    main()
