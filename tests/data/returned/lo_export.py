"""Store a workbook through one of LibreOffice's own export filters, driven over UNO.

    /usr/bin/python3 lo_export.py SOURCE TARGET "FILTER NAME"     (the system Python, which has python3-uno)

Used by regenerate_odf_xml.py for the Excel 2003 XML Spreadsheet fixtures. LibreOffice 7.4's "MS Excel 2003
XML" filter is an XSLT over the flat ODF document that writes every column and row the document formats: on
a return opened from .xlsx (formatted to column XFD and row 1,048,576) it recurses past libxslt's 3,000-call
limit and writes nothing, or, past that, a 200 MB file. So the sheets are first copied into a new LibreOffice
document (their cells, formats, merges, row and sheet visibility), the area right of and below each sheet's
used area reset to LibreOffice's defaults, and that document stored through the filter: the file LibreOffice
writes for a return typed into a LibreOffice workbook. Nothing of the form's own area is touched.
"""

import os
import subprocess
import sys
import tempfile
import time

import uno
from com.sun.star.beans import PropertyValue

HARD_ATTRIBUTES, STYLES = 32, 64  # com.sun.star.sheet.CellFlags
LAST_COL, LAST_ROW = 16383, 1048575
DEFAULT_WIDTH = 2258  # 1/100 mm: LibreOffice's default column width


def prop(name, value):
    item = PropertyValue()
    item.Name, item.Value = name, value
    return item


def connect(pipe):
    context = uno.getComponentContext()
    resolver = context.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", context)
    for _ in range(200):
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except Exception:
            time.sleep(0.2)
    raise RuntimeError("LibreOffice did not start")


def load(desktop, url):
    """A document, once LibreOffice is ready to load one (just after start it may hand back nothing)."""
    for _ in range(50):
        document = desktop.loadComponentFromURL(url, "_blank", 0, (prop("Hidden", True),))
        if document is not None:
            return document
        time.sleep(0.2)
    raise RuntimeError(f"LibreOffice did not load {url}")


def reset_unused_area(sheet):
    cursor = sheet.createCursor()
    cursor.gotoEndOfUsedArea(False)
    last_col, last_row = cursor.RangeAddress.EndColumn, cursor.RangeAddress.EndRow
    right = sheet.getCellRangeByPosition(last_col + 1, 0, LAST_COL, LAST_ROW)
    right.clearContents(HARD_ATTRIBUTES | STYLES)
    right.getColumns().setPropertyValue("Width", DEFAULT_WIDTH)
    below = sheet.getCellRangeByPosition(0, last_row + 1, LAST_COL, LAST_ROW)
    below.clearContents(HARD_ATTRIBUTES | STYLES)
    below.getRows().setPropertyValue("OptimalHeight", True)


def main():
    source, target, filter_name = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3]
    pipe = f"ictplan_fixture_{os.getpid()}"
    with tempfile.TemporaryDirectory() as profile:
        office = subprocess.Popen(["soffice", "--headless", "--invisible", "--norestore",
                                   f"--accept=pipe,name={pipe};urp;", f"-env:UserInstallation=file://{profile}"])
        try:
            remote = connect(pipe)
            desktop = remote.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", remote)
            original = load(desktop, uno.systemPathToFileUrl(source))
            copy = load(desktop, "private:factory/scalc")
            blank = copy.Sheets.ElementNames[0]
            for position, name in enumerate(original.Sheets.ElementNames):
                copy.Sheets.importSheet(original, name, position)
                copy.Sheets.getByName(name).IsVisible = original.Sheets.getByName(name).IsVisible
            copy.Sheets.removeByName(blank)
            for sheet in copy.Sheets:
                reset_unused_area(sheet)
            copy.storeToURL(uno.systemPathToFileUrl(target), (prop("FilterName", filter_name),))
            original.close(True)
            copy.close(True)
            desktop.terminate()
        finally:
            office.wait(timeout=60)


if __name__ == "__main__":
    main()
