"""CLI messages in Vietnamese (default) and English. Issue messages live in `issues.CATALOGUE`; this file
holds only the words of the command line itself (headings, counts, paths)."""

from __future__ import annotations

import os
from typing import Any

from pipeline.issues import formatter

LANGS = ("vi", "en")

# The one list of status labels, capitalised as a status is written: a file's result as the ledger records it
# and the state of a return or of an agency in the round (pipeline.report.status). Every client shows these
# words and no others — the CLI, `ictplan status`, the summary workbook, the feedback, the draft report and the
# desk — so an agency reads "Chưa hợp lệ" for its file wherever it looks.
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "accepted": ("Hợp lệ", "Valid"),
    "accepted_with_warnings": ("Hợp lệ, có cảnh báo", "Valid, with warnings"),
    "rejected": ("Chưa hợp lệ", "Not yet valid"),
    "quarantined": ("Cần kiểm tra", "Held for review"),
    "duplicate": ("Trùng lặp", "Duplicate"),
    "superseded": ("Đã thay thế", "Superseded"),
    "skipped": ("Bỏ qua", "Skipped"),
    "unchanged": ("Đã có trong sổ cái", "Already recorded"),
    "unreadable": ("Không đọc được (thử lại lần sau)", "Unreadable (retried next run)"),
    "missing": ("Chưa nộp", "Not received"),
    "other_round": ("Thuộc kỳ khác: không ghi nhận", "Another round's: not recorded"),
}
# A state is worded as the file result it stands for: valid = accepted, not_valid = rejected.
STATE_LABELS: dict[str, tuple[str, str]] = {
    "missing": STATUS_LABELS["missing"],
    "valid": STATUS_LABELS["accepted"],
    "valid_with_warnings": STATUS_LABELS["accepted_with_warnings"],
    "not_valid": STATUS_LABELS["rejected"],
    "superseded": STATUS_LABELS["superseded"],
}

MESSAGES: dict[str, tuple[str, str]] = {
    "spec.summary": (
        "Mẫu {form_id} phiên bản {version}, kỳ báo cáo {round}: {fields} chỉ tiêu, {columns} cột bảng dự án, "
        "{rules} quy tắc kiểm tra.",
        "Form {form_id} version {version}, round {round}: {fields} fields, {columns} project-table columns, "
        "{rules} rules.",
    ),
    "spec.error": ("Lỗi trong tệp mẫu (spec): {error}", "Error in the form spec: {error}"),
    "registry.error": ("Lỗi trong danh mục đơn vị: {error}", "Error in the agency registry: {error}"),
    "template.done": (
        "Đã tạo {count} tệp mẫu trong {out}: 1 mẫu trống và {agencies} bản riêng cho từng đơn vị.",
        "Wrote {count} workbooks to {out}: 1 blank template and {agencies} agency copies.",
    ),
    "sample.done": (
        "Đã tạo {count} báo cáo mẫu trong {out} ({mistakes} báo cáo có lỗi cố ý; xem manifest.json).",
        "Wrote {count} sample returns to {out} ({mistakes} with deliberate mistakes; see manifest.json).",
    ),
    "file.locked": (
        "Không ghi được {path}: tệp đang mở trong chương trình khác (Excel?) hoặc không được phép ghi. "
        "Đề nghị đóng tệp rồi chạy lại.",
        "Cannot write {path}: the file is open in another program (Excel?) or may not be written. "
        "Close it and run again.",
    ),
    "consolidate.too_long": (
        "↑ Excel không mở được tệp có đường dẫn dài quá {limit} ký tự: đề nghị chọn thư mục kết quả (--out) "
        "có đường dẫn ngắn hơn.",
        "↑ Excel cannot open a file whose path is over {limit} characters: choose an output folder (--out) "
        "with a shorter path.",
    ),
    "demo.done": (
        "Bản chạy thử nằm trong thư mục {out} (mẫu, báo cáo mẫu, sổ cái, bảng tổng hợp và phản hồi).",
        "The demo is in the folder {out} (templates, sample returns, ledger, summary and feedback).",
    ),
    "rulebook.done": ("Đã ghi sổ tay quy tắc: {path}", "Wrote the rulebook: {path}"),
    "check.heading": ("Kết quả kiểm tra", "Check results"),
    "check.block": ("{file} ({agency}): {status} — {errors} lỗi, {warnings} cảnh báo",
                    "{file} ({agency}): {status} — {errors} errors, {warnings} warnings"),
    "col.file": ("Tệp", "File"),
    "col.agency": ("Đơn vị", "Agency"),
    "col.status": ("Kết quả", "Result"),
    "col.errors": ("Lỗi", "Errors"),
    "col.warnings": ("Cảnh báo", "Warnings"),
    "col.first": ("Vấn đề đầu tiên", "First issues"),
    "col.count": ("Số lượng", "Count"),
    "col.received": ("Nhận lúc", "Received"),
    "template.carried": ("Đã ghi sẵn số liệu từ báo cáo kỳ {round} vào bản của {n} đơn vị (ô nền xanh, có ghi chú: "
                         "đơn vị kiểm tra, sửa nếu đã thay đổi).",
                         "Pre-filled {n} agencies' copies from their round {round} returns (blue cells with a note: "
                         "the agency checks and corrects them)."),
    "round.other_spec": ("Tệp mẫu {spec} là của kỳ {found}, không phải kỳ {round}.",
                         "The spec {spec} is of round {found}, not {round}."),
    "status.rounds": ("Các kỳ báo cáo trong sổ cái", "Reporting rounds in the ledger"),
    "col.form": ("Mẫu", "Form"),
    "col.round": ("Kỳ", "Round"),
    "col.files": ("Số tệp", "Files"),
    "col.counted": ("Báo cáo được tính", "Returns counted"),
    "feedback.written": ("Phản hồi cho đơn vị: {path}", "Feedback for the agency: {path}"),
    "consolidate.progress": ("Đang xử lý báo cáo", "Processing returns"),
    "consolidate.summary": ("Tóm tắt lần nhập", "Import summary"),
    "consolidate.outputs": ("Kết quả đã ghi", "Outputs written"),
    "consolidate.dry_run": (
        "Chạy thử (--dry-run): không ghi sổ cái, không ghi tệp kết quả.",
        "Dry run: nothing recorded, no output written.",
    ),
    "consolidate.locked": (
        "Đang có phiên tổng hợp khác chạy trên sổ cái này (pid {pid}, máy {host}, từ {since}). Đề nghị chờ phiên đó kết thúc rồi chạy lại.",
        "Another consolidation is running on this ledger (pid {pid}, host {host}, since {since}). Wait for it to end, "
        "then run again.",
    ),
    "consolidate.stale_lock": (
        "Khóa cũ của tiến trình đã dừng (pid {pid}, máy {host}, từ {since}) đã được gỡ.",
        "Took over a stale lock left by a dead process (pid {pid}, host {host}, since {since}).",
    ),
    "consolidate.network_share": (
        "Sổ cái nằm trên ổ mạng dùng chung: đã mở ở chế độ nhật ký an toàn cho ổ mạng (chậm hơn). Nên chạy "
        "tổng hợp trên một máy duy nhất, hoặc đặt sổ cái trên ổ đĩa của máy chạy tổng hợp (--db).",
        "The ledger is on a network share: opened in the journal mode safe there (slower). Run consolidations "
        "from one machine only, or keep the ledger on the local disk of the machine that runs them (--db).",
    ),
    "consolidate.failed": ("Không hoàn thành được lần tổng hợp: {error}", "The consolidation could not complete: {error}"),
    "consolidate.fallback": (
        "Tệp {target} đang được mở hoặc bị khóa; đã ghi vào {path}.",
        "{target} is open or locked; wrote {path} instead.",
    ),
    "count.received": ("Nhận", "Received"),
    "status.heading": ("Tình hình nộp báo cáo, kỳ {round}", "Returns received, round {round}"),
    "status.totals": (
        "{received}/{expected} đơn vị đã nộp; {valid_all} hợp lệ ({valid_with_warnings} có cảnh báo); "
        "{not_valid} chưa hợp lệ; {missing} chưa nộp.",
        "{received}/{expected} agencies returned; {valid_all} valid ({valid_with_warnings} with warnings); "
        "{not_valid} not yet valid; {missing} not received.",
    ),
    "status.days_left": ("Hạn gửi báo cáo: {deadline}, còn {days} ngày.", "Deadline: {deadline}, {days} days left."),
    "status.due_today": ("Hạn gửi báo cáo: hôm nay, {deadline}.", "Deadline: today, {deadline}."),
    "status.deadline_passed": ("Hạn gửi báo cáo: {deadline} (đã qua).", "Deadline: {deadline} (passed)."),
    "status.days_late": ("Hạn gửi báo cáo: {deadline}, đã quá hạn {days} ngày.",
                         "Deadline: {deadline}, {days} days ago."),
    "status.unattributed": ("{n} tệp chưa xác định được đơn vị gửi.", "{n} files from an unknown agency."),
    "status.pending": ("tệp gửi sau: {status}", "a later file: {status}"),
    "status.replaced": ("{n} tệp cũ đã được thay thế", "{n} older files superseded"),
    "col.state": ("Tình trạng", "State"),
    "todo.heading": (
        "Các đơn vị cần đôn đốc, ngày {today}: {n} đơn vị ({missing} chưa nộp, {not_valid} chưa hợp lệ, "
        "{pending} gửi lại chưa hợp lệ).",
        "Agencies to chase, {today}: {n} ({missing} not received, {not_valid} not yet valid, "
        "{pending} with a refused newer file).",
    ),
    "status.recorded": ("(ghi sổ {when})", "(recorded {when})"),
    "status.feedback": ("→ phản hồi: {path}", "→ feedback: {path}"),
    "report.written": ("Đã ghi dự thảo báo cáo tổng hợp: {path}", "Wrote the draft consolidated report: {path}"),
    "report.failed": ("Không ghi được dự thảo báo cáo: {error}. Đề nghị chạy \"ictplan consolidate\" trước.",
                      "Could not write the draft report: {error}. Run \"ictplan consolidate\" first."),
    "pdf.written": ("Bản PDF: {path} ({pages} trang A4)", "PDF copy: {path} ({pages} A4 pages)"),
    "pdf.failed": ("LibreOffice không chuyển được {path} sang PDF.", "LibreOffice could not convert {path} to PDF."),
    "pdf.absent": ("Máy chưa cài LibreOffice: không tạo bản PDF.", "LibreOffice is not installed: no PDF copies."),
    "rollup.done": ("Đã tổng hợp toàn quốc {n}/{m} tỉnh ({refused} thư mục không được cộng). Kết quả đã ghi:",
                    "Rolled up {n}/{m} provinces ({refused} folders not taken). Written:"),
    "rollup.none": ("Không có thư mục nào cộng được: không ghi tổng hợp toàn quốc.",
                    "No folder could be taken: no national summary written."),
    "rollup.try_round": ("Các thư mục này là tổng hợp của kỳ {round}: đề nghị chạy lại với --round {round}.",
                         "These folders consolidate round {round}: run again with --round {round}."),
    "codes.heading": ("Danh mục mã lỗi", "Issue codes"),
    "file.missing": ("Không tìm thấy tệp: {path}", "File not found: {path}"),
    "folder.missing": ("Không tìm thấy thư mục: {path}", "Folder not found: {path}"),
    **{f"status.{key}": label for key, label in STATUS_LABELS.items()},
    **{f"state.{key}": label for key, label in STATE_LABELS.items()},
}



def default_lang() -> str:
    lang = os.environ.get("ICTPLAN_LANG", "vi").lower()
    return lang if lang in LANGS else "vi"


def t(key: str, lang: str, **params: Any) -> str:
    """The message for `key` in `lang`; a missing placeholder prints '?' instead of failing."""
    vi, en = MESSAGES[key]
    return formatter(lang).format(vi if lang == "vi" else en, **params)
