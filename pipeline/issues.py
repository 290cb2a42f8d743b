"""One catalogue of issue codes, and the Issue record every stage produces.

Every problem the tool can report — from the file guard, the reader, the validator or the ledger — has a
stable code here with a severity and a Vietnamese and English message. Messages follow one pattern: *what
is wrong* (with the value found) and *how to fix it*; the location ("Sheet 'Hiện trạng', ô D12 — Tổng số
máy tính: ") is prefixed from the Issue's own fields, so it is never retyped in a template.

Cross-field rules are defined in the form spec with their own ids (R01a …) and messages; an Issue for such a
rule carries the rule's templates in its context (``msg_vi``/``msg_en``), so rendering has one path.

Codes start with their topic: FILE (the file as a whole, before parsing), FORM (identity of the form and
the agency), LAYOUT (finding values in the sheets), VALUE (one cell's value), RULE (spec rules: range,
required, choice, cross-field), ROLLUP (a province's exports offered to the national roll-up), SYS (the tool
itself).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

_INNER_BRACKETS = re.compile(r"\s*\(([^()]*)\)")


def unnested(label: str) -> str:
    """A label as a message writes it in brackets after the cell: its own brackets become a comma
    ("Tổng kinh phí (triệu đồng)" → "Tổng kinh phí, triệu đồng"), so that brackets never nest."""
    return _INNER_BRACKETS.sub(r", \1", label)


class Severity(StrEnum):
    ERROR = "error"  # the return is rejected until fixed
    WARNING = "warning"  # accepted, listed in the feedback
    INFO = "info"  # recorded for the department (skipped files, conversions done)


@dataclass(frozen=True, slots=True)
class Detail:
    name: str
    severity: Severity
    vi: str
    en: str
    # Placeholders' values for an issue that does not carry them (recorded before the placeholder existed).
    defaults: Mapping[str, str] = dataclasses.field(default_factory=dict)


E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

CATALOGUE: dict[str, Detail] = {
    # --- FILE: checked before any parser touches the bytes --------------------------------------------
    "FILE_EMPTY": Detail("Empty file", E,
        "Tệp rỗng (0 byte). Đề nghị đơn vị gửi lại tệp báo cáo đã điền.",
        "The file is empty (0 bytes). Please resend the completed return."),
    "FILE_TOO_LARGE": Detail("File too large", E,
        "Tệp quá lớn ({size_mb} MB, tối đa {limit_mb} MB). Mẫu báo cáo chỉ khoảng 50 KB: đề nghị đơn vị gửi đúng tệp mẫu đã điền, không chèn ảnh.",
        "The file is too large ({size_mb} MB, limit {limit_mb} MB). The form is about 50 KB: send the completed form without pictures."),
    "FILE_NOT_SPREADSHEET": Detail("Not a spreadsheet", E,
        "Tệp không phải bảng tính Excel thật (nội dung là {kind}). Đề nghị đơn vị mở mẫu bằng Excel và chọn Lưu thành (Save As) .xlsx.",
        "This is not a real Excel workbook (its content is {kind}). Open the form in Excel and Save As .xlsx."),
    "FILE_CORRUPT": Detail("Corrupt or truncated file", E,
        "Tệp bị hỏng hoặc gửi chưa hết, không mở được ({reason}). Đề nghị đơn vị mở bằng Excel, lưu lại và gửi lại.",
        "The file is damaged or incomplete ({reason}). Please open it in Excel, save it and resend."),
    "FILE_ENCRYPTED": Detail("Password-protected workbook", E,
        "Tệp đang đặt mật khẩu mở. Đề nghị đơn vị gỡ mật khẩu (Tệp › Thông tin › Bảo vệ sổ làm việc) rồi gửi lại.",
        "The workbook is password-protected. Please remove the password (File › Info › Protect Workbook) and resend."),
    "FILE_ZIP_BOMB": Detail("Suspicious compression", E,
        "Tệp có phần nén bất thường ({reason}) nên không được mở vì lý do an toàn. Đề nghị đơn vị lưu lại mẫu bằng Excel và gửi lại.",
        "The file has abnormal compressed parts ({reason}) and was not opened for safety. Re-save the form in Excel and resend."),
    "FILE_XML_ENTITIES": Detail("XML entity declarations", E,
        "Tệp chứa khai báo XML không được phép (DOCTYPE/ENTITY) trong {part}. Đề nghị đơn vị lưu lại mẫu bằng Excel và gửi lại.",
        "The file contains forbidden XML declarations (DOCTYPE/ENTITY) in {part}. Re-save the form in Excel and resend."),
    "FILE_DIMENSION_BOMB": Detail("Oversized sheet", E,
        "Trang tính {sheet} khai báo vùng dữ liệu quá lớn ({ref}). Đề nghị đơn vị xóa các ô thừa ngoài mẫu, lưu lại và gửi lại.",
        "Sheet {sheet} declares an oversized data area ({ref}). Delete stray cells outside the form, save and resend."),
    "FILE_DUPLICATE_PARTS": Detail("Duplicate archive members", E,
        "Tệp chứa hai phần trùng tên ({part}); các phần mềm khác nhau sẽ đọc ra số liệu khác nhau. Đề nghị đơn vị lưu lại bằng Excel và gửi lại.",
        "The file contains two parts with the same name ({part}); different programs would read different data. Re-save in Excel and resend."),
    "FILE_MACROS": Detail("Workbook contains macros", W,
        "Tệp có chứa macro (VBA). Macro không được chạy và không được sao chép; số liệu vẫn được đọc. Lần sau, đề nghị đơn vị lưu dạng .xlsx.",
        "The workbook contains macros (VBA). They are never run or copied; the data were read. Next time please save as .xlsx."),
    "FILE_OWNER_LOCK": Detail("Office lock file skipped", INFO,
        "Bỏ qua tệp khóa tạm của Office ({name}); đây không phải báo cáo.",
        "Skipped an Office owner/lock file ({name}); it is not a return."),
    "FILE_SKIPPED": Detail("Not a return, skipped", INFO,
        "Bỏ qua tệp {name}: không phải định dạng bảng tính ({kind}).",
        "Skipped {name}: not a spreadsheet format ({kind})."),
    "FILE_UNREADABLE": Detail("File cannot be read", E,
        "Không đọc được tệp ({reason}). Tệp được giữ nguyên trong hộp thư đến và sẽ được thử lại ở lần chạy sau.",
        "The file could not be read ({reason}). It stays in the inbox and will be retried on the next run."),
    "FILE_VANISHED": Detail("File vanished during the run", W,
        "Tệp {name} đã bị xóa hoặc thay đổi trong lúc xử lý; sẽ xử lý lại ở lần chạy sau.",
        "The file {name} was removed or changed during the run; it will be processed on the next run."),
    "FILE_EXCEL95_TEXT_LOST": Detail("Excel 5.0/95 file without Vietnamese text", E,
        "Tệp được lưu ở định dạng cũ Excel 5.0/95 với bảng mã {codepage}, không chứa được chữ tiếng Việt: khi lưu, các chữ có dấu đã bị thay bằng dấu \"?\", nên không đọc được các trang và nhãn của mẫu. Đề nghị đơn vị mở bản gốc của báo cáo, chọn Lưu thành (Save As) kiểu Excel Workbook (.xlsx) hoặc Excel 97–2003 (.xls), không chọn Excel 5.0/95, rồi gửi lại.",
        "The file was saved in the old Excel 5.0/95 format with code page {codepage}, which cannot hold Vietnamese letters: on saving, the accented letters were replaced by \"?\", so the form's sheets and labels cannot be read. Please open the original of the return, Save As an Excel Workbook (.xlsx) or Excel 97–2003 (.xls), not Excel 5.0/95, and resend."),
    "FILE_LEGACY_FORMAT": Detail("Old file format", INFO,
        "Tệp ở định dạng {format}; đã đọc được. Đơn vị nên dùng mẫu .xlsx kèm theo để có danh sách chọn và kiểm tra tự động.",
        "The file is in {format} format and was read. The agency should use the attached .xlsx form for dropdowns and checks."),
    # --- FORM: is this our form, which version, which agency ------------------------------------------
    "FORM_NOT_OURS": Detail("Not the reporting form", E,
        "Tệp không phải mẫu báo cáo {form_id}: không tìm thấy các trang và nhãn của mẫu. Đề nghị đơn vị điền vào đúng mẫu đã gửi kèm.",
        "This is not the {form_id} reporting form: its sheets and labels were not found. Please fill in the form that was sent."),
    "FORM_OLD_VERSION": Detail("Old or unknown form version", E,
        "Tệp dùng mẫu phiên bản {found}, trong khi mẫu hiện hành là {expected}. Đề nghị đơn vị chuyển số liệu sang mẫu {expected}.",
        "The file uses form version {found}; the current form is {expected}. Please move the figures into form {expected}."),
    "FORM_OTHER_ROUND": Detail("Another reporting round", E,
        "Tệp thuộc kỳ báo cáo {found} (mẫu {found_form}), không phải kỳ {expected} (mẫu {expected_form}) đang tổng hợp: tệp không được ghi nhận, không tính vào kỳ {expected}. Đề nghị chuyển tệp vào thư mục nhận báo cáo của kỳ {found}.",
        "The file belongs to reporting round {found} (form {found_form}), not round {expected} (form {expected_form}) being consolidated: it is not recorded and not counted in round {expected}. Please move it to the inbox of round {found}."),
    "FORM_META_MISSING": Detail("Hidden form information missing", W,
        "Không thấy trang ẩn _meta (có thể số liệu đã được chép sang sổ mới); các ô được tìm theo nhãn. Lần sau, đề nghị đơn vị điền trực tiếp vào mẫu.",
        "The hidden _meta sheet is missing (the cells may have been copied into a new workbook); values were located by their labels. Next time fill in the form itself."),
    "FORM_AGENCY_MISSING": Detail("Agency not identified", E,
        "Không xác định được đơn vị báo cáo: ô Mã đơn vị trống và tên đơn vị không khớp danh mục. Đề nghị đơn vị dùng mẫu riêng đã gửi cho đơn vị.",
        "The reporting agency could not be identified: the agency code is empty and the name matches no registered agency. Use the agency's own copy of the form."),
    "FORM_AGENCY_UNKNOWN": Detail("Agency not in the registry", E,
        "Đơn vị \"{found}\" không có trong danh mục đơn vị của tỉnh. Đề nghị đơn vị kiểm tra lại mã/tên đơn vị.",
        "Agency \"{found}\" is not in the province's registry. Please check the agency code/name."),
    "FORM_AGENCY_SUCCEEDED": Detail("Agency reorganised before this round", E,
        "{agency} (mã {code}) không còn là đơn vị báo cáo từ ngày {ended}: kỳ báo cáo {round} (hạn {deadline}) do {successor} (mã {successor_code}) báo cáo thay. Tệp không được tính vào kỳ {round}. Đề nghị đơn vị gửi báo cáo kỳ {round} trên mẫu của {successor} (mã {successor_code}).",
        "{agency} (code {code}) ceased to report on {ended}: in round {round} (deadline {deadline}) {successor} (code {successor_code}) reports in its place. The file is not counted in round {round}. Please send the round {round} return on the form of {successor} (code {successor_code})."),
    "FORM_AGENCY_ENDED": Detail("Agency dissolved before this round", E,
        "{agency} (mã {code}) không còn là đơn vị báo cáo từ ngày {ended} và không có đơn vị kế thừa: kỳ báo cáo {round} (hạn {deadline}) không thu báo cáo của đơn vị. Tệp không được tính vào kỳ {round}.",
        "{agency} (code {code}) ceased to report on {ended}, with no successor: round {round} (deadline {deadline}) collects no return from it. The file is not counted in round {round}."),
    "FORM_AGENCY_NOT_YET": Detail("Agency founded after this round", E,
        "{agency} (mã {code}) là đơn vị báo cáo từ ngày {founded}, sau hạn của kỳ báo cáo {round} ({deadline}): kỳ này không thu báo cáo của đơn vị. Tệp không được tính vào kỳ {round}. Đề nghị kiểm tra lại kỳ báo cáo của tệp.",
        "{agency} (code {code}) reports from {founded}, after the deadline of round {round} ({deadline}): this round collects no return from it. The file is not counted in round {round}. Please check which round the file belongs to."),
    "FORM_AGENCY_MISMATCH": Detail("Agency codes disagree", E,
        "Mã đơn vị không thống nhất: {detail}. Đề nghị đơn vị dùng đúng mẫu của đơn vị mình.",
        "The agency codes disagree: {detail}. Please use your own agency's copy of the form."),
    "FORM_AGENCY_NAME": Detail("Agency name differs from its code", W,
        "Tên đơn vị \"{found}\" ứng với mã {name_code}, khác mã {code} trong tệp.",
        "The agency name \"{found}\" belongs to code {name_code}, not to {code} in the file."),
    # --- LAYOUT: finding the values -------------------------------------------------------------------
    "LAYOUT_SHEET_RENAMED": Detail("Sheet renamed", W,
        "Trang \"{expected}\" đã bị đổi tên thành \"{found}\"; đã nhận ra theo nội dung.",
        "Sheet \"{expected}\" was renamed to \"{found}\"; it was recognised by its content."),
    "LAYOUT_SHEET_MISSING": Detail("Sheet missing", E,
        "Thiếu trang \"{expected}\" của mẫu. Đề nghị đơn vị dùng đúng mẫu, không xóa trang.",
        "Sheet \"{expected}\" of the form is missing. Please use the form without deleting sheets."),
    "LAYOUT_SHEET_AMBIGUOUS": Detail("Two sheets could be the form's sheet", E,
        "Không có trang nào mang đúng tên \"{expected}\" của mẫu, mà có nhiều trang cùng chứa nội dung của trang này với số liệu khác nhau ({found}): không xác định được trang nào là số liệu báo cáo, nên chưa lấy số liệu từ trang nào. Đề nghị đơn vị xóa trang không dùng (hoặc chuyển sang tệp khác), đặt lại tên trang còn lại đúng là \"{expected}\" rồi gửi lại.",
        "No sheet is named \"{expected}\" as in the form, and several sheets hold its content with different figures ({found}): which one is the return cannot be told, so none of them was read. Please delete the sheet that is not the return (or move it to another file), rename the other exactly \"{expected}\" and resend."),
    "LAYOUT_SHEET_COPY": Detail("Another sheet holds a copy of the form's sheet", W,
        "Trang {others} cũng chứa nội dung trang \"{expected}\" của mẫu nhưng với số liệu khác; số liệu chỉ được lấy từ trang \"{expected}\". Nếu số liệu cần báo cáo nằm ở trang khác, đề nghị đơn vị chép vào trang \"{expected}\" rồi gửi lại.",
        "Sheet {others} also holds the content of the form's sheet \"{expected}\", with other figures; only sheet \"{expected}\" was read. If the figures to report are on the other sheet, please copy them into \"{expected}\" and resend."),
    "LAYOUT_SHEET_UNREADABLE": Detail("Sheet cannot be read", E,
        "Có ô trên trang này không đọc được, thường là ô định dạng ngày tháng chứa một số âm rất lớn. Đề nghị đơn vị kiểm tra các ô ngày tháng trên trang, sửa rồi gửi lại.",
        "A cell on this sheet cannot be read, usually a date-formatted cell holding a huge negative number. Please check the sheet's date cells, correct them and resend."),
    "LAYOUT_MOVED": Detail("Rows inserted or moved", W,
        "Chỉ tiêu đã bị dời từ ô {expected} sang ô {found} (có chèn/xóa dòng); đã đọc theo nhãn.",
        "The item moved from cell {expected} to {found} (rows inserted or deleted); it was read by its label."),
    "LAYOUT_FIELD_NOT_FOUND": Detail("Item not found", E,
        "Không tìm thấy dòng \"{label}\" trong trang {sheet}. Đề nghị đơn vị không xóa hoặc sửa nhãn các dòng của mẫu.",
        "Row \"{label}\" was not found on sheet {sheet}. Please do not delete or edit the form's row labels."),
    "LAYOUT_TABLE_NOT_FOUND": Detail("Project table not found", E,
        "Không tìm thấy bảng danh mục dự án (dòng tiêu đề) trong trang {sheet}.",
        "The project table (its header row) was not found on sheet {sheet}."),
    "LAYOUT_MERGED": Detail("Merged cells in the form", W,
        "Các ô {ref} đã bị gộp; chỉ đọc giá trị ở ô đầu. Đề nghị đơn vị bỏ gộp ô.",
        "Cells {ref} were merged; only the first cell's value was read. Please unmerge them."),
    "LAYOUT_HIDDEN": Detail("Hidden rows or sheets", W,
        "{what} đang bị ẩn; số liệu trong đó vẫn được đọc. Đề nghị đơn vị kiểm tra lại.",
        "{what} is hidden; its figures were still read. Please check it."),
    "LAYOUT_STRAY": Detail("Content outside the input cells", W,
        "Có nội dung ngoài các ô nhập liệu ({ref}: \"{value}\"); nội dung này không được tổng hợp. Đề nghị đơn vị ghi vào cột Ghi chú hoặc phần thuyết minh.",
        "There is content outside the input cells ({ref}: \"{value}\"); it is not consolidated. Put it in a remarks column or the narrative."),
    "LAYOUT_PROJECT_ROWS_ADDED": Detail("Rows added to the project table", INFO,
        "Bảng dự án có thêm dòng ngoài mẫu; đã đọc đủ {count} dự án.",
        "Rows were added to the project table; all {count} projects were read."),
    # --- VALUE: one cell --------------------------------------------------------------------------------
    "VALUE_NOT_NUMBER": Detail("Not a number", E,
        "giá trị \"{value}\" không phải là số. Đề nghị đơn vị nhập số (ví dụ 1.500 hoặc 12,5).",
        "\"{value}\" is not a number. Please enter a number (e.g. 1500 or 12.5)."),
    "VALUE_NOT_INTEGER": Detail("Not a whole number", E,
        "giá trị {value} phải là số nguyên ({unit}).",
        "{value} must be a whole number ({unit})."),
    "VALUE_GROUPED_THOUSANDS": Detail("Dot read as a thousands separator", W,
        "ô ghi \"{value}\", đã đọc là {taken} (dấu chấm ngăn cách hàng nghìn, như 1.500 là một nghìn năm trăm). Nếu không đúng, đề nghị đơn vị ghi lại số không có dấu phân cách.",
        "the cell holds \"{value}\", read as {taken} (the dot taken as the thousands separator of Vietnamese usage, as in 1.500 for fifteen hundred). If that is wrong, please re-enter the number without separators."),
    "VALUE_AMBIGUOUS_NUMBER": Detail("Ambiguous number", W,
        "\"{value}\" có thể hiểu là {taken} hoặc {other}; đã lấy {taken}. Nếu sai, đề nghị đơn vị nhập lại không dùng dấu phân cách (ví dụ {other_plain}).",
        "\"{value}\" could mean {taken} or {other}; {taken} was taken. If wrong, re-enter it without separators (e.g. {other_plain})."),
    "VALUE_NOT_BOOL": Detail("Not yes/no", E,
        "giá trị \"{value}\" không phải Có/Không. Đề nghị đơn vị chọn trong danh sách.",
        "\"{value}\" is not Có/Không (yes/no). Please pick from the list."),
    "VALUE_NOT_DATE": Detail("Not a date", E,
        "\"{value}\" không phải ngày hợp lệ. Đề nghị đơn vị nhập theo dạng ngày/tháng/năm, ví dụ 15/10/2007.",
        "\"{value}\" is not a valid date. Please enter it as day/month/year, e.g. 15/10/2007."),
    "VALUE_NOT_CHOICE": Detail("Not one of the choices", E,
        "\"{value}\" không có trong danh sách chọn ({choices}). Đề nghị đơn vị chọn trong danh sách.",
        "\"{value}\" is not one of the choices ({choices}). Please pick from the list."),
    "VALUE_LEGACY_TEXT": Detail("Old Vietnamese font encoding converted", W,
        "văn bản được gõ bằng bảng mã {encoding} (\"{value}\") đã được chuyển sang Unicode: \"{converted}\". Đề nghị đơn vị dùng bảng mã Unicode (QĐ 72/2002/QĐ-TTg).",
        "text typed in the {encoding} encoding (\"{value}\") was converted to Unicode: \"{converted}\". Please type in Unicode (Decision 72/2002/QĐ-TTg)."),
    "VALUE_CLEANED": Detail("Invisible characters removed", INFO,
        "đã loại bỏ ký tự ẩn/điều khiển trong \"{value}\".",
        "invisible or control characters were removed from \"{value}\"."),
    "VALUE_FORMULA_NOT_CALCULATED": Detail("Formula without a calculated value", W,
        "ô có công thức nhưng chưa có giá trị tính (tệp được lưu bằng phần mềm không tính công thức); đã tính lại từ các ô nhập: {value}. Lần sau, đề nghị đơn vị mở bằng Excel và lưu lại.",
        "the cell holds a formula without a calculated value (saved by a program that does not calculate); it was recomputed from the inputs: {value}. Next time open it in Excel and save."),
    "VALUE_FORMULA_INPUT": Detail("Formula without a value in an input cell", E,
        "ô nhập liệu chứa công thức {formula} nhưng không có giá trị đã tính (tệp được lưu bằng phần mềm không tính công thức), nên không có số liệu để đọc. Đề nghị đơn vị ghi trực tiếp giá trị vào ô, không dùng công thức.",
        "the input cell holds the formula {formula} but no calculated value (the file was saved by a program that does not calculate), so there is no figure to read. Please type the value itself into the cell, not a formula."),
    "VALUE_FORMULA_TEXT": Detail("Formula kept as text", W,
        "ô chứa công thức {formula} nhưng không có giá trị đã tính; nội dung công thức được giữ nguyên dưới dạng văn bản (không phải công thức hay liên kết). Đề nghị đơn vị ghi trực tiếp nội dung vào ô, không dùng công thức.",
        "the cell holds the formula {formula} but no calculated value; the formula's text was kept as plain text (never as a formula or a link). Please type the text itself into the cell, not a formula."),
    "VALUE_FORMULA_STALE": Detail("Formula value out of date", W,
        "giá trị tính sẵn {value} khác giá trị tính lại {computed}; đã dùng {computed}.",
        "the stored value {value} differs from the recomputed {computed}; {computed} was used."),
    "VALUE_PERCENT_SCALE": Detail("Percentage scale assumed", INFO,
        "giá trị {value} được hiểu là {taken}%.",
        "{value} was read as {taken}%."),
    "VALUE_TRUNCATED": Detail("Text too long", W,
        "văn bản dài {length} ký tự, vượt giới hạn {limit}; phần thừa không được lưu.",
        "the text has {length} characters, over the limit of {limit}; the rest was not kept."),
    # --- RULE: derived from the spec ---------------------------------------------------------------------
    "RULE_REQUIRED": Detail("Required value missing", E,
        "chưa điền. Đây là chỉ tiêu bắt buộc: {advice}.",
        "is empty. This item is required: {advice}.",
        defaults={"advice_vi": "đề nghị đơn vị điền ô này", "advice_en": "please fill in this cell"}),
    "RULE_RANGE": Detail("Value out of range", E,
        "giá trị {value} nằm ngoài khoảng cho phép {min}–{max} {unit}. Đề nghị đơn vị kiểm tra lại.",
        "{value} is outside the allowed range {min}–{max} {unit}. Please check it."),
    "RULE_PLAUSIBLE": Detail("Implausible value", W,
        "giá trị {value} {unit} bất thường (thường trong khoảng {min}–{max}). Đề nghị đơn vị kiểm tra lại.",
        "{value} {unit} is unusual (usually {min}–{max}). Please check it."),
    "RULE_TEXT_SHORT": Detail("Text too short", E,
        "phần thuyết minh quá ngắn ({length} ký tự, tối thiểu {min}). Đề nghị đơn vị viết đầy đủ.",
        "the narrative is too short ({length} characters, at least {min}). Please write it in full."),
    "RULE_PATTERN": Detail("Wrong format", E,
        "\"{value}\" không đúng định dạng {what}.",
        "\"{value}\" is not a valid {what}."),
    "RULE_EXPECTED": Detail("Unusual format", W,
        "\"{value}\" thường phải là {what}. Đề nghị đơn vị kiểm tra lại.",
        "\"{value}\" should usually be {what}. Please check it."),
    "RULE_DUPLICATE_ROW": Detail("Duplicate project", W,
        "dự án \"{value}\" trùng tên với dự án ở dòng {other_row}. Nếu là hai dự án khác nhau, đề nghị đơn vị đặt tên phân biệt; nếu trùng, xóa một dòng.",
        "project \"{value}\" has the same name as the project on row {other_row}. If they differ, name them distinctly; otherwise delete one row."),
    "RULE_MONEY_DONG": Detail("Money probably in đồng", E,
        "{value} triệu đồng là quá lớn: có lẽ đã nhập theo đơn vị đồng. Đề nghị đơn vị đổi sang triệu đồng (chia cho 1.000.000).",
        "{value} million VND is far too large: it was probably entered in đồng. Convert it to triệu đồng (divide by 1,000,000)."),
    "RULE_MONEY_UNIT": Detail("Check the money unit", W,
        "{value} triệu đồng là lớn bất thường (có thể đã nhập theo nghìn đồng, gấp 1.000 lần). Đề nghị đơn vị kiểm tra đơn vị tính: triệu đồng.",
        "{value} million VND is unusually large (perhaps entered in thousand đồng, 1,000 times too big). Please check the unit: million VND."),
    # --- ROLLUP: a province's output folder offered to `ictplan rollup` ---------------------------------
    "ROLLUP_NO_EXPORTS": Detail("No exports in the folder", E,
        "Thư mục {folder} không có số liệu xuất của một lần tổng hợp (thiếu {missing}). Đề nghị tỉnh chạy \"ictplan consolidate\" rồi gửi cả thư mục kết quả.",
        "The folder {folder} holds no consolidation exports ({missing} missing). Ask the province to run \"ictplan consolidate\" and send its whole output folder."),
    "ROLLUP_BAD_EXPORTS": Detail("Exports cannot be used", E,
        "Số liệu xuất trong thư mục {folder} không dùng được: {reason}. Đề nghị tỉnh chạy lại \"ictplan consolidate\" và gửi lại cả thư mục kết quả.",
        "The exports in the folder {folder} cannot be used: {reason}. Ask the province to run \"ictplan consolidate\" again and resend its whole output folder."),
    "ROLLUP_OTHER_FORM": Detail("Another form or round", E,
        "Thư mục {folder} ({province}) là tổng hợp của mẫu {found}, không phải mẫu {expected} đang tổng hợp; không cộng vào số liệu toàn quốc.",
        "The folder {folder} ({province}) consolidates form {found}, not the form {expected} being rolled up; it is not added to the national figures."),
    "ROLLUP_DUPLICATE": Detail("Province given twice", E,
        "Thư mục {folder} ({province}) đã được cộng một lần (thư mục {first}); không cộng lần thứ hai.",
        "The folder {folder} ({province}) is already counted once (folder {first}); it is not added a second time."),
    # --- SYS ---------------------------------------------------------------------------------------------
    "SYS_INTERNAL_ERROR": Detail("Internal error", E,
        "Lỗi nội bộ của phần mềm khi xử lý tệp ({reason}); tệp được giữ lại để kiểm tra. Bộ phận tổng hợp sẽ liên hệ.",
        "Internal error while processing the file ({reason}); the file was kept for review. The team will contact you."),
    "SYS_DUPLICATE": Detail("Already received", INFO,
        "Tệp này đã được nhận lúc {time}; không cần gửi lại.",
        "This file was already received at {time}; no need to resend."),
    "SYS_SUPERSEDED": Detail("Replaced by a newer return", INFO,
        "Báo cáo này đã được thay bằng báo cáo nhận lúc {time}.",
        "This return was replaced by the one received at {time}."),
}


# What RULE_REQUIRED advises, by what the field asks for (validate.required_advice picks one from the spec's
# field type): only a number may be "0" and only a yes/no field "Không".
REQUIRED_ADVICE: dict[str, tuple[str, str]] = {
    "number": ("nếu không có, đề nghị đơn vị ghi 0", "if there is none, enter 0"),
    "bool": ("đề nghị đơn vị chọn \"Có\" hoặc \"Không\"", "choose \"Có\" (yes) or \"Không\" (no)"),
    "choice": ("đề nghị đơn vị chọn một mục trong danh sách thả xuống", "pick one item from the dropdown list"),
    "date": ("đề nghị đơn vị ghi ngày theo dạng ngày/tháng/năm, ví dụ 15/10/2007",
             "enter the date as day/month/year, e.g. 15/10/2007"),
    "year": ("đề nghị đơn vị ghi năm bằng bốn chữ số, ví dụ 2008", "enter the year in four digits, e.g. 2008"),
    "text": ("đề nghị đơn vị ghi nội dung vào ô này", "please write it in this cell"),
}


class LenientFormatter(string.Formatter):
    """A message never fails to render: a missing placeholder prints as '?' (pyxform's _ErrorFormatter).
    Numbers are written in the convention of the message's language (`format_number`); a number that is an
    identifier (a year, a row, a version, a process id) is passed as text and printed as it is."""

    def __init__(self, lang: str | None = None) -> None:
        super().__init__()
        self.lang = lang

    def get_value(self, key: int | str, args: Any, kwargs: Any) -> Any:
        if isinstance(key, str):
            return kwargs.get(key, "?")
        return super().get_value(key, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> str:
        if is_number(value) and not format_spec:
            return format_number(value, self.lang)
        return super().format_field(value, format_spec)


def formatter(lang: str | None) -> LenientFormatter:
    """The formatter of a language (None: the neutral one, for data rather than people)."""
    return _FORMATTERS.get(lang or "", _NEUTRAL)


_FORMATTERS = {"vi": LenientFormatter("vi"), "en": LenientFormatter("en")}
_NEUTRAL = LenientFormatter()

# Thousands and decimal separators: Vietnamese writes 1.388,8 and 74.200 (TCVN, and the form's own
# "1.500 hoặc 12,5"); English 1,388.8 and 74,200.
SEPARATORS = {"vi": (".", ","), "en": (",", ".")}
DECIMALS = 3  # at most, trailing zeros dropped
GROUP_FROM = 1000  # 999 stays 999; 1000 is 1.000 (vi) or 1,000 (en)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def format_number(value: float | int, lang: str | None = None) -> str:
    """A number as people read it in `lang`: whole numbers without decimals, others with up to 3 decimals,
    digits grouped by three from 1,000 on ("1.388,8" in Vietnamese, "1,388.8" in English). Without a
    language, the neutral form for data (exports, the ledger's text): no grouping, "." for decimals."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = _plain(value)
    if lang not in SEPARATORS:
        return text
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, decimals = text.partition(".")
    thousands, point = SEPARATORS[lang]
    if abs(value) >= GROUP_FROM:
        whole = f"{int(whole):,}".replace(",", thousands)
    return sign + whole + (point + decimals if decimals else "")


def _plain(value: float | int) -> str:
    """1500.0 → "1500", 12.5 → "12.5", 47.6190476 → "47.619"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return str(value)


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem, with where it is. ``value`` is the raw text or number found in the cell."""

    code: str
    severity: Severity
    file: str | None = None
    sheet: str | None = None
    cell: str | None = None
    field: str | None = None
    row: int | None = None  # Excel row of a project-table row
    value: Any = None
    context: dict[str, Any] = dataclasses.field(default_factory=dict, hash=False, compare=False)

    def message(self, lang: str = "vi") -> str:
        """The full sentence: location, what is wrong, how to fix it."""
        detail = CATALOGUE.get(self.code)
        template = (
            self.context.get(f"msg_{lang}")
            or (detail and (detail.vi if lang == "vi" else detail.en))
            or self.code
        )
        params = {"value": display_value(self.value, lang), **_params(detail.defaults if detail else {}, lang),
                  **_params(self.context, lang)}
        text = formatter(lang).format(template, **params)
        where = self.where(lang)
        return f"{where}: {text}" if where else _capitalise(text)

    def where(self, lang: str = "vi") -> str:
        parts = []
        if self.sheet:
            parts.append(("Trang" if lang == "vi" else "Sheet") + f" '{self.sheet}'")
        if self.cell:
            parts.append(("ô " if lang == "vi" else "cell ") + self.cell)
        label = self.context.get(f"label_{lang}")
        if label:
            parts.append(f"({unnested(label)})")
        return ", ".join(parts[:2]) + (" " + parts[2] if len(parts) > 2 else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "file": self.file,
            "sheet": self.sheet,
            "cell": self.cell,
            "field": self.field,
            "row": self.row,
            "value": display_value(self.value) if self.value is not None else None,
            "value_vi": display_value(self.value, "vi") if self.value is not None else None,
            "value_en": display_value(self.value, "en") if self.value is not None else None,
            "message_vi": self.message("vi"),
            "message_en": self.message("en"),
        }


def _params(context: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """A context's placeholders in `lang`: one may have a word per language ("kind_vi"/"kind_en" fill
    "{kind}")."""
    suffix = f"_{lang}"
    params = dict(context)
    params.update({k[:-3]: v for k, v in context.items() if k.endswith(suffix) and k != f"msg{suffix}"})
    return params


def display_value(value: Any, lang: str | None = None) -> Any:
    """A value as people read it in a message of `lang`: 40.0 → "40", 1388.8 → "1.388,8" (vi) or "1,388.8"
    (en), dates as dd/mm/yyyy, text past 80 characters cut with "…" (the whole text stays in the ledger's raw
    values). Without a language, numbers take the neutral form ("1388.8") of the ledger and the exports."""
    if is_number(value):
        return value if lang is None and isinstance(value, int) else format_number(value, lang)
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, str) and len(value) > DISPLAY_MAX:
        return value[: DISPLAY_MAX - 1] + "…"
    return value


DISPLAY_MAX = 80


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def issue(code: str, *, severity: Severity | None = None, **kwargs: Any) -> Issue:
    """Build an Issue for a catalogue code; the severity defaults to the catalogue's."""
    if severity is None:
        severity = CATALOGUE[code].severity
    return Issue(code=code, severity=severity, **kwargs)


def worst(issues: list[Issue]) -> Severity | None:
    """The most severe level among the issues, or None when there are none."""
    levels = {i.severity for i in issues}
    for level in (Severity.ERROR, Severity.WARNING, Severity.INFO):
        if level in levels:
            return level
    return None


def sort_key(item: Issue) -> tuple[int, str, int, str]:
    """Errors first, then by sheet and row, for feedback lists."""
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}[item.severity]
    row = _cell_row(item.cell) if item.cell else 0
    return (order, item.sheet or "", row, item.cell or "")


def _cell_row(cell: str) -> int:
    digits = "".join(ch for ch in cell if ch in "0123456789")
    return int(digits) if digits else 0
