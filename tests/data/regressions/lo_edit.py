"""Edit a return through LibreOffice (python3-uno), as a clerk would with Calc, and save it.

    /usr/bin/python3 lo_edit.py SOURCE TARGET FORMAT EDIT [JSON]

EDIT is one of the functions below; JSON (optional) gives it its cells: {"sheet": ..., "old": {"D7": 82}}.
"""
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time

import uno
from com.sun.star.beans import PropertyValue

FILTERS = {"xlsx": "Calc MS Excel 2007 XML", "xls": "MS Excel 97", "ods": "calc8"}


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def set_cells(sheet, cells):
    for ref, value in cells.items():
        cell = sheet.getCellRangeByName(ref)
        if isinstance(value, str):
            cell.setString(value)
        else:
            cell.setValue(value)


def delete_row(doc, args):
    """Right-click a row header > Delete Rows (the sheet's protection, which has no password, taken off first)."""
    sheet = doc.Sheets.getByName(args["sheet"])
    sheet.unprotect("")
    sheet.Rows.removeByIndex(args["row"] - 1, 1)


def duplicate_sheet(doc, args):
    """Sheet > Move or Copy Sheet > Copy (placed before the sheet, as the dialog proposes), then the tabs renamed
    and figures typed in: `copy` names the copy, `rename` the original's new name (if any); `copy_cells` go into the
    copy, `original_cells` into the original."""
    sheets = doc.Sheets
    names = list(sheets.ElementNames)
    sheets.copyByName(args["sheet"], args["copy"], names.index(args["sheet"]))
    copy, original = sheets.getByName(args["copy"]), sheets.getByName(args["sheet"])
    for sheet in (copy, original):
        sheet.unprotect("")
    set_cells(copy, args.get("copy_cells", {}))
    set_cells(original, args.get("original_cells", {}))
    if args.get("rename"):
        original.Name = args["rename"]


def main():
    source, target, fmt, edit = sys.argv[1:5]
    args = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
    pipe = f"lo_edit_{os.getpid()}"
    with tempfile.TemporaryDirectory() as profile:
        office = subprocess.Popen(
            ["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--invisible", "--norestore",
             f"--accept=pipe,name={pipe};urp;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            local = uno.getComponentContext()
            resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
            for _ in range(240):
                try:
                    ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                    break
                except Exception:
                    time.sleep(0.5)
            else:
                sys.exit("soffice did not start")
            desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
            doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.path.abspath(source)), "_blank", 0,
                                               (prop("Hidden", True),))
            globals()[edit](doc, args)
            doc.storeToURL(uno.systemPathToFileUrl(os.path.abspath(target)), (prop("FilterName", FILTERS[fmt]),))
            doc.close(True)
            with contextlib.suppress(Exception):  # the bridge goes down with the office
                desktop.terminate()
        finally:
            try:
                office.wait(60)
            except subprocess.TimeoutExpired:
                office.kill()


if __name__ == "__main__":
    main()
