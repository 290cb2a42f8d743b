"""The desk's words in Vietnamese (default) and English. Issue messages come from `issues.CATALOGUE` and result
words (the status labels: Hợp lệ, Chưa hợp lệ, …) from `pipeline.i18n`, as on the command line: only the page's own words are here."""

from __future__ import annotations

from typing import Any

from pipeline.i18n import MESSAGES as CLI_MESSAGES
from pipeline.issues import LenientFormatter

WORDS: dict[str, tuple[str, str]] = {
    # `ictplan serve` on the terminal
    "serve.started": (
        "Bàn làm việc đang chạy tại {url} (hộp thư đến {inbox}, kết quả {out}). Bấm Ctrl+C để dừng.",
        "The desk is running at {url} (inbox {inbox}, outputs {out}). Press Ctrl+C to stop.",
    ),
    "serve.needs_password": (
        "Phục vụ qua mạng ({host}) cần mật khẩu cán bộ: đặt bằng lệnh ictplan serve --set-password.",
        "Serving the network ({host}) needs the staff password: set it with ictplan serve --set-password.",
    ),
    "serve.password": ("Mật khẩu cán bộ", "Staff password"),
    "serve.password_short": ("Mật khẩu cần ít nhất {minimum} ký tự.", "The password needs at least {minimum} characters."),
    "serve.password_set": ("Đã lưu mật khẩu (đã băm): {path}", "The password is stored (hashed): {path}"),
    # the pages
    "app.title": ("Bàn làm việc báo cáo CNTT", "IT returns desk"),
    "nav.board": ("Tình hình nộp", "Status board"),
    "nav.upload": ("Nhận báo cáo", "Upload returns"),
    "nav.self_check": ("Đơn vị tự kiểm tra", "Agency self-check"),
    "nav.outputs": ("Kết quả tổng hợp", "Outputs"),
    "nav.logout": ("Đăng xuất", "Log out"),
    "lang.switch": ("English", "Tiếng Việt"),
    "board.heading": ("Tình hình nộp báo cáo, kỳ {round}", "Returns received, round {round}"),
    "board.filter": ("Lọc", "Filter"),
    "board.all_states": ("Mọi tình trạng", "Every state"),
    "board.all_groups": ("Mọi nhóm đơn vị", "Every group"),
    "board.search": ("Tìm đơn vị", "Find an agency"),
    "board.shown": ("Đang hiện {shown}/{total} đơn vị", "Showing {shown} of {total} agencies"),
    "board.total": ("Đơn vị", "Agencies"),
    "board.rounds": ("Các kỳ báo cáo trong sổ theo dõi", "The ledger's reporting rounds"),
    "board.round_link": ("Kỳ {round} ({form_id}): {files} tệp, {counted} báo cáo được tính",
                         "Round {round} ({form_id}): {files} files, {counted} returns counted"),
    "round.unknown": (
        "Sổ theo dõi không có kỳ báo cáo “{round}”. Các kỳ có trong sổ: {known}.",
        "The ledger holds no reporting round “{round}”. Its rounds: {known}.",
    ),
    "round.no_spec": (
        "Kỳ báo cáo “{round}” có trong sổ theo dõi nhưng không tìm thấy tệp đặc tả mẫu biểu của kỳ này; "
        "đề nghị chạy ictplan serve --round {round} --spec <tệp đặc tả>.",
        "The ledger holds round “{round}” but no form spec of that round was found: run "
        "ictplan serve --round {round} --spec <spec file>.",
    ),
    "round.into": (
        "Tệp gửi ở trang này được nhận vào kỳ {round}: {title} (mẫu {form_id}).",
        "Files sent from this page are taken into round {round}: {title} (form {form_id}).",
    ),
    "round.checked_by": (
        "Tệp được kiểm tra theo mẫu {form_id} của kỳ {round}: {title}.",
        "Files are checked against form {form_id} of round {round}: {title}.",
    ),
    "col.group": ("Nhóm", "Group"),
    "col.state": ("Tình trạng", "State"),
    "col.last_file": ("Tệp gần nhất", "Latest file"),
    "col.deadline": ("So với hạn", "Against the deadline"),
    "col.returns": ("Số lần nộp", "Returns"),
    "board.resubmitted": ("Đã nộp lại", "Resubmitted"),
    "board.superseded_n": ("{n} bản đã được thay thế", "{n} superseded"),
    "board.pending": ("bản mới nhất chưa hợp lệ", "newest file not yet valid"),
    "days.on_time": ("đúng hạn", "on time"),
    "days.late": ("trễ {n} ngày", "{n} days late"),
    "days.long_late": ("trễ hơn {n} ngày", "more than {n} days late"),
    "upload.heading": ("Nhận báo cáo của các đơn vị", "Take in the agencies' returns"),
    "upload.help": (
        "Kéo thả các tệp báo cáo (.xlsx, .xls, .ods) vào ô dưới đây hoặc bấm để chọn; có thể chọn nhiều tệp. "
        "Mỗi tệp được lưu vào hộp thư đến, kiểm tra và ghi sổ ngay.",
        "Drop the return files (.xlsx, .xls, .ods) on the box below or click it to choose; several at once. "
        "Each file is saved into the inbox, checked and recorded at once.",
    ),
    "upload.drop": ("Thả tệp vào đây hoặc bấm để chọn", "Drop files here or click to choose"),
    "upload.submit": ("Gửi và ghi sổ", "Send and record"),
    "upload.limits": ("Tối đa {files} tệp, mỗi tệp tối đa {mb} MB.", "Up to {files} files of at most {mb} MB each."),
    "upload.results": ("Kết quả nhận báo cáo", "Returns taken in"),
    "upload.saved_as": ("Lưu vào hộp thư đến với tên {name}", "Saved into the inbox as {name}"),
    "upload.none": ("Chưa chọn tệp nào.", "No file was chosen."),
    "upload.too_many": ("Mỗi lần gửi tối đa {files} tệp.", "At most {files} files at a time."),
    "upload.too_large": (
        "Tệp {name} lớn hơn {mb} MB: không nhận. Đề nghị đơn vị gửi lại đúng mẫu báo cáo.",
        "{name} is larger than {mb} MB: not taken in. Ask the agency to send the form itself.",
    ),
    "upload.body_too_large": (
        "Lượng dữ liệu gửi lên vượt quá {mb} MB. Đề nghị gửi ít tệp hơn mỗi lần.",
        "The upload is over {mb} MB. Send fewer files at a time.",
    ),
    "upload.held": (
        "Đã lưu các tệp vào hộp thư đến. Một phiên tổng hợp khác đang chạy (pid {pid}, máy {host}, từ {since}): "
        "các tệp sẽ được ghi sổ ở lần tổng hợp tiếp theo.",
        "The files are saved in the inbox. Another consolidation is running (pid {pid}, host {host}, since "
        "{since}): they will be recorded by the next consolidation.",
    ),
    "upload.failed": (
        "Đã lưu các tệp vào hộp thư đến, nhưng chưa ghi sổ được: {error}. Các tệp sẽ được ghi ở lần tổng hợp sau.",
        "The files are saved in the inbox but could not be recorded: {error}. The next consolidation records them.",
    ),
    "upload.also": ("Lần ghi sổ này cũng nhận {n} tệp khác có sẵn trong hộp thư đến.",
                    "This run also recorded {n} other files waiting in the inbox."),
    "result.issues": ("Các vấn đề", "Issues"),
    "result.no_issues": ("Không có lỗi hay cảnh báo.", "No errors or warnings."),
    "result.feedback": ("Tải bảng phản hồi cho đơn vị", "Download the feedback workbook"),
    "result.open_return": ("Xem báo cáo đã ghi", "Open the recorded return"),
    "result.severity.error": ("Lỗi", "Error"),
    "result.severity.warning": ("Cảnh báo", "Warning"),
    "result.severity.info": ("Ghi chú", "Note"),
    "col.where": ("Vị trí", "Where"),
    "col.message": ("Nội dung", "Message"),
    "col.severity": ("Mức", "Level"),
    "self.heading": ("Đơn vị tự kiểm tra báo cáo trước khi gửi", "Check a return before sending it"),
    "self.help": (
        "Chọn bản báo cáo đang soạn: trang sẽ cho biết mọi lỗi khiến báo cáo chưa hợp lệ, ở đúng trang và ô, để "
        "đơn vị sửa các ô đó trước khi gửi. Không có gì được ghi sổ.",
        "Choose the draft return: the page shows everything that would have it refused, at its sheet and cell. "
        "Nothing is recorded.",
    ),
    "self.submit": ("Kiểm tra", "Check"),
    "self.results": ("Kết quả tự kiểm tra (không ghi sổ)", "Self-check results (nothing recorded)"),
    "self.would": ("Nếu gửi bây giờ: {status}", "If sent now: {status}"),
    "consolidate.button": ("Tổng hợp toàn bộ hộp thư đến", "Consolidate the whole inbox"),
    "consolidate.help": (
        "Ghi sổ mọi tệp mới trong hộp thư đến rồi lập lại bảng tổng hợp, các tệp CSV và phản hồi.",
        "Record every new file of the inbox, then rebuild the summary, the CSV exports and the feedback.",
    ),
    "consolidate.running": ("Đang tổng hợp: {done}/{total} tệp", "Consolidating: {done} of {total} files"),
    "consolidate.writing": ("Đang lập bảng tổng hợp…", "Writing the summary…"),
    "consolidate.done": ("Đã tổng hợp xong.", "The consolidation is done."),
    "consolidate.held": (
        "Đang có phiên tổng hợp khác chạy trên sổ cái này (pid {pid}, máy {host}, từ {since}). Đề nghị chờ rồi bấm lại.",
        "Another consolidation is running on this ledger (pid {pid}, host {host}, since {since}). Wait, then press again.",
    ),
    "outputs.heading": ("Kết quả để tải về", "Downloads"),
    "outputs.summary": ("Bảng tổng hợp", "Summary workbook"),
    "outputs.report": ("Dự thảo báo cáo", "Draft report"),
    "outputs.exports": ("Dữ liệu CSV", "CSV exports"),
    "outputs.feedback": ("Phản hồi cho các đơn vị", "Feedback for the agencies"),
    "outputs.none": ("Chưa có; bấm Tổng hợp.", "None yet; press Consolidate."),
    "return.heading": ("Báo cáo {file}", "Return {file}"),
    "return.agency": ("Đơn vị", "Agency"),
    "return.status": ("Kết quả", "Result"),
    "return.counted": ("Được tính vào tổng hợp", "Counts in the totals"),
    "return.not_counted": ("Không được tính vào tổng hợp", "Does not count in the totals"),
    "return.received": ("Nhận lúc", "Received"),
    "return.recorded": ("Ghi sổ lúc", "Recorded"),
    "return.values": ("Số liệu và ô nguồn", "Values and their source cells"),
    "return.projects": ("Dự án", "Projects"),
    "return.history": ("Các lần nộp của đơn vị", "The agency's returns"),
    "return.this": ("(báo cáo này)", "(this return)"),
    "return.supersedes": ("thay thế #{id}", "replaces #{id}"),
    "return.superseded_by": ("được thay bằng #{id}", "replaced by #{id}"),
    "return.missing": ("Không có báo cáo số {id} trong sổ cái.", "No return #{id} in the ledger."),
    "col.field": ("Chỉ tiêu", "Field"),
    "col.value": ("Giá trị", "Value"),
    "col.raw": ("Ô ghi", "As written"),
    "col.cell": ("Ô", "Cell"),
    "col.row": ("Dòng", "Row"),
    "yes": ("có", "yes"),
    "no": ("không", "no"),
    "login.heading": ("Đăng nhập cho cán bộ Sở", "Staff login"),
    "login.password": ("Mật khẩu", "Password"),
    "login.submit": ("Đăng nhập", "Log in"),
    "login.wrong": ("Mật khẩu không đúng.", "Wrong password."),
    "error.csrf": (
        "Biểu mẫu đã hết hạn hoặc không gửi từ trang này. Đề nghị tải lại trang rồi gửi lại.",
        "The form expired or was not sent from this page. Reload the page and send it again.",
    ),
    "error.not_found": ("Không tìm thấy trang hoặc tệp này.", "No such page or file."),
    "error.host": ("Địa chỉ máy chủ không hợp lệ.", "Unknown host name."),
    "error.bad_form": ("Dữ liệu gửi lên không hợp lệ: {reason}", "The form could not be read: {reason}"),
}

_FORMATTER = LenientFormatter()


def word(key: str, lang: str, **params: Any) -> str:
    """The page's word for `key`, else the command line's (status labels: Hợp lệ, Chưa hợp lệ, …)."""
    vi, en = WORDS.get(key) or CLI_MESSAGES[key]
    return _FORMATTER.format(vi if lang == "vi" else en, **params)
