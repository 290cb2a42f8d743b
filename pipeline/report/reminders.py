"""The department's to-do list: a reminder for every agency it must chase, as plain text ready to paste into
an e-mail or a covering letter (Vietnamese by default, English for `lang="en"`).

Who is on it is `RoundStatus.to_do()`: agencies that sent nothing, agencies whose returns are all refused,
and agencies whose newer file was refused while an earlier return still counts. Each reminder names whom to
contact (the return's "prepared by", phone and e-mail when the agency filled them in, and the registry's
office phone and e-mail), what is missing or wrong (every error and warning of the refused file, at its sheet
and cell), where its feedback workbook is, and the deadline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.form.spec import FormSpec
from pipeline.issues import Issue, Severity
from pipeline.record.ledger import Ledger
from pipeline.report.status import MISSING, AgencyState, Contact, ReturnState, RoundStatus, round_status

MAX_LISTED = 20  # issues written out in one reminder; the rest are in the feedback workbook

_WORDS: dict[str, tuple[str, str]] = {
    "to": ("Kính gửi: {name}", "To: {name}"),
    "from_return": ("(theo báo cáo của đơn vị)", "(from the agency's return)"),
    "office": ("Văn phòng đơn vị: điện thoại {phone}; thư điện tử {email} (theo danh mục đơn vị)",
               "Agency office: phone {phone}; e-mail {email} (from the registry)"),
    "no_contact": ("Chưa có số điện thoại, thư điện tử của đơn vị: đề nghị bổ sung vào danh mục đơn vị.",
                   "No phone or e-mail for this agency: add them to the registry."),
    "form": ("biểu {form_id} \"{title}\", kỳ {round}", "form {form_id} \"{title}\", round {round}"),
    "missing": ("Đến ngày {today}, {issuer} chưa nhận được báo cáo của đơn vị theo {form}.",
                "As of {today}, {issuer} has not received the agency's return on {form}."),
    "not_valid": ("Báo cáo của đơn vị theo {form} (tệp \"{file}\", nhận lúc {received}) chưa hợp lệ nên chưa "
                  "được tổng hợp: {errors} lỗi, {warnings} cảnh báo.",
                  "The agency's return on {form} (file \"{file}\", received {received}) is not yet valid and is "
                  "not counted (errors: {errors}, warnings: {warnings})."),
    "pending": ("Tệp \"{file}\" đơn vị gửi lại lúc {received} chưa hợp lệ: {errors} lỗi, {warnings} cảnh báo. "
                "Báo cáo nhận lúc {counted_at} (tệp \"{counted}\") vẫn đang được dùng để tổng hợp.",
                "The file \"{file}\" the agency sent again on {received} is not valid (errors: {errors}, "
                "warnings: {warnings}). The return received on {counted_at} (file \"{counted}\") is still the one "
                "counted."),
    "errors": ("Các lỗi cần sửa:", "Errors to correct:"),
    "warnings": ("Các điểm cần xem lại (cảnh báo):", "Points to check (warnings):"),
    "more": ("… và {n} vấn đề khác (xem tệp phản hồi).", "… and {n} more (see the feedback workbook)."),
    "feedback": ("Tệp phản hồi (các ô có vấn đề được tô màu và ghi chú): {path}",
                 "Feedback workbook (each problem cell highlighted and commented): {path}"),
    "deadline_ahead": ("Hạn gửi báo cáo là ngày {deadline} (còn {days} ngày).",
                       "The deadline is {deadline} ({days} days left)."),
    "deadline_today": ("Hạn gửi báo cáo là hôm nay, ngày {deadline}.", "The deadline is today, {deadline}."),
    "deadline_past": ("Hạn gửi báo cáo là ngày {deadline} (đã quá hạn {days} ngày).",
                      "The deadline was {deadline} ({days} days ago)."),
    "deadline_passed": ("Hạn gửi báo cáo là ngày {deadline} (đã qua).", "The deadline was {deadline}."),
    "ask_missing": ("Đề nghị đơn vị khẩn trương hoàn thành báo cáo vào tệp mẫu đã được gửi và gửi về Sở.",
                    "Please complete the return in the copy of the form you were sent and send it to us."),
    "ask_fix": ("Đề nghị đơn vị sửa các lỗi nêu trên và gửi lại báo cáo.",
                "Please correct the errors above and send the return again."),
    "ask_fix_pending": ("Đề nghị đơn vị sửa các lỗi nêu trên và gửi lại nếu muốn thay thế báo cáo trước.",
                        "Please correct the errors above and send it again if it is to replace the earlier return."),
    "ask_review": ("Tệp đang được bộ phận tổng hợp kiểm tra thêm; Sở sẽ liên hệ lại với đơn vị.",
                   "The file is being reviewed by the consolidation team, who will contact the agency."),
}


@dataclass(frozen=True)
class Reminder:
    """One agency on the to-do list: its state, the issues of its refused file, the text to send."""

    agency: AgencyState
    issues: tuple[Issue, ...]  # of `open_return`, as recorded
    text: str

    @property
    def open_return(self) -> ReturnState | None:
        return open_return(self.agency)

    def to_dict(self) -> dict[str, Any]:
        return self.agency.to_dict() | {"issues": [i.to_dict() for i in self.issues], "reminder": self.text}


def to_do_list(ledger: Ledger, spec: FormSpec, registry: Any, *, lang: str = "vi",
               today: dt.date | None = None) -> tuple[RoundStatus, list[Reminder]]:
    """The round's state and a reminder for every agency on the to-do list, registry order."""
    status = round_status(ledger, spec, registry, today=today)
    agencies = status.to_do()
    opened = [r.submission_id for r in (open_return(a) for a in agencies) if r is not None]
    issues = ledger.issues(opened)
    reminders = []
    for agency in agencies:
        refused = open_return(agency)
        found = tuple(issues.get(refused.submission_id, ())) if refused else ()
        reminders.append(Reminder(agency, found, reminder_text(agency, found, status, spec, lang=lang)))
    return status, reminders


def open_return(agency: AgencyState) -> ReturnState | None:
    """The file the agency must correct: its refused newer file, or its latest when nothing counts."""
    if agency.pending is not None:
        return agency.pending
    return agency.latest if agency.counted is None else None


def reminder_text(agency: AgencyState, issues: Sequence[Issue], status: RoundStatus, spec: FormSpec, *,
                  lang: str = "vi") -> str:
    """The reminder for one agency, as plain text: addressee, contacts, what is wanted, the deadline."""
    w = _Words(lang)
    lines = [w("to", name=agency.agency.name(lang)), *_contact_lines(agency, spec, w), ""]
    form = w("form", form_id=status.form_id, title=_title(spec, lang), round=status.round)
    refused = open_return(agency)
    if agency.state == MISSING or refused is None:
        lines.append(w("missing", today=_date(status.today), issuer=_issuer(spec, lang), form=form))
        ask = "ask_missing"
    else:
        if agency.pending is not None:
            lines.append(w("pending", file=refused.file, received=_time(refused.received_at), errors=refused.errors,
                           warnings=refused.warnings, counted=agency.counted.file if agency.counted else "",
                           counted_at=_time(agency.counted.received_at) if agency.counted else ""))
        else:
            lines.append(w("not_valid", form=form, file=refused.file, received=_time(refused.received_at),
                           errors=refused.errors, warnings=refused.warnings))
        lines += _issue_lines(issues, w, lang)
        if refused.feedback:
            lines.append(w("feedback", path=refused.feedback))
        ask = "ask_review" if refused.status == "quarantined" else \
            "ask_fix_pending" if agency.pending is not None else "ask_fix"
    deadline = _deadline_line(status, w)
    lines.append(" ".join(part for part in (w(ask), deadline, _return_how(spec, lang)) if part))
    return "\n".join(lines)


class _Words:
    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, key: str, **params: Any) -> str:
        vi, en = _WORDS[key]
        return (vi if self.lang == "vi" else en).format(**params)


def _contact_lines(agency: AgencyState, spec: FormSpec, w: _Words) -> list[str]:
    lines = []
    contact, office = agency.contact, agency.office
    if contact:
        parts = [f"{label if n == 0 else label[:1].lower() + label[1:]}: {value}"
                 for n, (label, value) in enumerate(_contact_parts(contact, spec, w.lang))]
        lines.append("; ".join(parts) + " " + w("from_return"))
    if office and (contact is None or (office.phone, office.email) != (contact.phone, contact.email)):
        lines.append(w("office", phone=office.phone or "–", email=office.email or "–"))
    return lines or [w("no_contact")]


def _contact_parts(contact: Contact, spec: FormSpec, lang: str) -> list[tuple[str, str]]:
    """(label, value) of the contact's filled parts, labelled as the form labels its fields."""
    labels = {f.type: f.label(lang) for f in reversed(spec.fields.values()) if f.type in ("phone", "email")}
    person = spec.fields.get("nguoi_lap")
    parts = [(person.label(lang) if person else "", contact.person), (labels.get("phone", ""), contact.phone),
             (labels.get("email", ""), contact.email)]
    return [(label, value) for label, value in parts if value]


def _issue_lines(issues: Sequence[Issue], w: _Words, lang: str) -> list[str]:
    errors = [i for i in issues if i.severity is Severity.ERROR]
    warnings = [i for i in issues if i.severity is Severity.WARNING]
    lines: list[str] = []
    room = MAX_LISTED
    for heading, group in (("errors", errors), ("warnings", warnings)):
        if not group:
            continue
        lines.append(w(heading))
        shown = group[:max(room, 0)]
        lines += [f"  {n}. {i.message(lang)}" for n, i in enumerate(shown, start=1)]
        room -= len(shown)
    hidden = len(errors) + len(warnings) - MAX_LISTED
    if hidden > 0:
        lines.append(w("more", n=hidden))
    return lines


DEADLINE_WORDS = {"status.days_left": "deadline_ahead", "status.due_today": "deadline_today",
                  "status.days_late": "deadline_past", "status.deadline_passed": "deadline_passed"}


def _deadline_line(status: RoundStatus, w: _Words) -> str:
    days = status.days_to_deadline
    if status.deadline is None or days is None:
        return ""
    key = DEADLINE_WORDS[status.deadline_key]  # the board's and `status`'s rule, long past included
    return w(key, deadline=_date(status.deadline), days=abs(days))


def _title(spec: FormSpec, lang: str) -> str:
    """The form's title as a phrase: "Báo cáo thực trạng và kế hoạch …" (the spec writes it in capitals)."""
    title = str(spec.form.get(f"title_{lang}") or spec.form.get("title_vi") or spec.form_id)
    return title[0] + title[1:].lower() if title.isupper() else title


def _issuer(spec: FormSpec, lang: str) -> str:
    return str(spec.form.get(f"issuer_{lang}") or spec.form.get("issuer_vi") or "")


def _return_how(spec: FormSpec, lang: str) -> str:
    return str(spec.form.get(f"return_{lang}") or "")


def _date(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _time(moment: dt.datetime) -> str:
    return moment.strftime("%d/%m/%Y %H:%M")
