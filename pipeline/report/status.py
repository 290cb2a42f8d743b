"""The state of a round, per agency, straight from the ledger (no pandas: `ictplan status` stays instant).

One library function, `round_status`, for every client: `ictplan status` (and `--missing`, the reminders),
the web desk's status board, the tests. Its answer is data; the clients only render it.

- An agency's **state**: ``missing`` (nothing received), ``valid`` / ``valid_with_warnings`` (a return counts
  in the totals), ``not_valid`` (returns received, none valid yet: rejected, or quarantined for review).
- A return's **state**: ``valid`` / ``valid_with_warnings`` / ``not_valid`` for the returns that are current,
  ``superseded`` for the others. An agency's current returns are the one that counts and, when its newest
  file is not valid, that one too (it is what the agency sent last: it must hear why it is refused, and that
  the earlier return still counts). Every other return was replaced by a newer file: its issues are history
  (in the ledger), not work. A return of an unknown agency is current (nobody replaced it).
- "Received" is the file's modification time in the inbox (saving an e-mail attachment or copying from a
  USB stick sets it), the same time that decides which return is newer; "recorded" is when `consolidate`
  wrote it into the ledger.
- The feedback workbook of a return is the one the run that recorded it wrote, as that run recorded it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from pipeline.form.registry import Agency, Registry
from pipeline.form.spec import FormSpec
from pipeline.i18n import t
from pipeline.record.ledger import ACCEPTED, Ledger

MISSING, VALID, VALID_WITH_WARNINGS, NOT_VALID, SUPERSEDED = (
    "missing", "valid", "valid_with_warnings", "not_valid", "superseded")
AGENCY_STATES = (MISSING, VALID, VALID_WITH_WARNINGS, NOT_VALID)
RETURN_STATES = (VALID, VALID_WITH_WARNINGS, NOT_VALID, SUPERSEDED)
FEEDBACK_KEY = "feedback:"  # a run's outputs: "feedback:<file name>" → the feedback workbook written for it
CONTACT_PERSON = "nguoi_lap"  # the return's "prepared by"; phone and e-mail are the spec's phone/email fields

_COLUMNS = ("id", "sha256", "file_name", "agency_code", "status", "counted", "received_at", "recorded_at", "errors",
            "warnings", "infos", "run_id")


class ReturnKey(NamedTuple):
    """What decides whether a return is current: its agency, status, whether it counts, and how new it is."""

    id: int
    agency: str | None
    status: str
    counted: bool
    received_at: Any  # ISO text or a datetime (one kind in one call)
    sha256: str

    @property
    def newness(self) -> tuple[Any, str]:
        """The ledger's order of returns: received time, then hash (never the order they were processed in)."""
        return self.received_at, self.sha256


@dataclass(frozen=True)
class Contact:
    """Whom to call or write to; blank parts are ''. `source`: "return" (its contact fields) or "registry"."""

    person: str
    phone: str
    email: str
    source: str

    def __bool__(self) -> bool:
        return bool(self.phone or self.email)

    def to_dict(self) -> dict[str, str]:
        return {"person": self.person, "phone": self.phone, "email": self.email, "source": self.source}


@dataclass(frozen=True)
class ReturnState:
    """One file of the round as the ledger holds it."""

    submission_id: int
    file: str
    agency: str | None  # its agency code; None when the agency could not be told
    status: str  # the ledger's: accepted | accepted_with_warnings | rejected | quarantined
    state: str  # RETURN_STATES
    counted: bool  # it is the return that counts in the totals
    received_at: dt.datetime  # the file's time in the inbox
    recorded_at: dt.datetime
    errors: int
    warnings: int
    infos: int
    feedback: str | None  # path of its feedback workbook, if one was written

    def label(self, lang: str = "vi") -> str:
        return t(f"state.{self.state}", lang)

    def to_dict(self) -> dict[str, Any]:
        return {"submission_id": self.submission_id, "file": self.file, "agency": self.agency,
                "status": self.status, "state": self.state, "counted": self.counted,
                "received_at": self.received_at.isoformat(), "recorded_at": self.recorded_at.isoformat(),
                "errors": self.errors, "warnings": self.warnings, "infos": self.infos, "feedback": self.feedback}


@dataclass(frozen=True)
class AgencyState:
    """One registry agency this round: its state, the return that counts, its newest file, all its files."""

    agency: Agency
    state: str  # AGENCY_STATES
    counted: ReturnState | None  # the return in the totals
    latest: ReturnState | None  # the newest file received (the counted one, or a newer one not valid)
    returns: tuple[ReturnState, ...]  # every file received, oldest first
    contact: Contact | None  # from its newest return that has one; None if no return gives one

    @property
    def code(self) -> str:
        return self.agency.code

    @property
    def pending(self) -> ReturnState | None:
        """A newer file than the return that counts, not valid: the agency's correction was refused."""
        if self.counted is None or self.latest is None or self.latest.counted:
            return None
        return self.latest

    @property
    def needs_action(self) -> bool:
        """On the department's to-do list: nothing received, nothing valid, or a refused newer file."""
        return self.state in (MISSING, NOT_VALID) or self.pending is not None

    @property
    def superseded(self) -> int:
        return sum(r.state == SUPERSEDED for r in self.returns)

    @property
    def office(self) -> Contact:
        """The registry's phone and e-mail of the agency's office."""
        return Contact("", self.agency.phone, self.agency.email, "registry")

    def label(self, lang: str = "vi") -> str:
        return t(f"state.{self.state}", lang)

    def to_dict(self) -> dict[str, Any]:
        latest = self.latest
        return {
            "code": self.code, "name_vi": self.agency.name_vi, "name_en": self.agency.name_en,
            "group": self.agency.group, "state": self.state,
            "label_vi": self.label("vi"), "label_en": self.label("en"), "needs_action": self.needs_action,
            "file": latest.file if latest else None, "status": latest.status if latest else None,
            "received_at": latest.received_at.isoformat() if latest else None,
            "recorded_at": latest.recorded_at.isoformat() if latest else None,
            "errors": latest.errors if latest else 0, "warnings": latest.warnings if latest else 0,
            "feedback": latest.feedback if latest else None,
            "counted_file": self.counted.file if self.counted else None,
            "received": len(self.returns), "superseded": self.superseded,
            "contact": self.contact.to_dict() if self.contact else None, "office": self.office.to_dict(),
            "returns": [r.to_dict() for r in self.returns],
        }


# Days after the deadline past which a round is history rather than a chase: its deadline line no longer
# counts the days, and a file received later is "more than 90 days late".
LONG_PAST = 90


@dataclass(frozen=True)
class RoundStatus:
    form_id: str
    form_version: str
    round: str
    deadline: dt.date | None
    today: dt.date
    agencies: tuple[AgencyState, ...]  # registry order
    unattributed: tuple[ReturnState, ...]  # files whose agency is unknown or not in the registry
    # every round the ledger holds (this one among them): form_id, round, files, agencies, counted,
    # first_received, last_received (Ledger.rounds)
    rounds: tuple[dict[str, Any], ...] = ()

    @property
    def days_to_deadline(self) -> int | None:
        """Days left until the deadline (0 on the day, negative once it is past); None without one."""
        return (self.deadline - self.today).days if self.deadline else None

    @property
    def deadline_key(self) -> str | None:
        """The message of the round's deadline line (pipeline.i18n): days left, today, days late, or, long
        past, only that it has passed (a 2007 round looked at in 2026 is not "7003 days late")."""
        days = self.days_to_deadline
        if days is None:
            return None
        if days < -LONG_PAST:
            return "status.deadline_passed"
        return "status.days_left" if days > 0 else "status.due_today" if days == 0 else "status.days_late"

    def counts(self) -> dict[str, int]:
        """expected, received, then agencies per state."""
        states = {s: sum(a.state == s for a in self.agencies) for s in AGENCY_STATES}
        return {"expected": len(self.agencies), "received": len(self.agencies) - states[MISSING], **states}

    def to_do(self) -> list[AgencyState]:
        """The agencies the department must chase (`AgencyState.needs_action`), registry order."""
        return [a for a in self.agencies if a.needs_action]

    def to_dict(self) -> dict[str, Any]:
        return {"form_id": self.form_id, "form_version": self.form_version, "round": self.round,
                "deadline": self.deadline.isoformat() if self.deadline else None, "today": self.today.isoformat(),
                "days_to_deadline": self.days_to_deadline, "counts": self.counts(),
                "agencies": [a.to_dict() for a in self.agencies],
                "unattributed": [r.to_dict() for r in self.unattributed], "rounds": list(self.rounds)}


def round_status(ledger: Ledger, spec: FormSpec, registry: Registry, *, today: dt.date | None = None) -> RoundStatus:
    """The round of `spec` as the ledger holds it: every agency the round expects (Registry.of_round) with its
    state and returns; the returns of any other agency are `unattributed`."""
    registry = registry.of_round(spec)
    rows = sorted(ledger.iter_submissions(spec.round, _COLUMNS), key=lambda r: (r["received_at"], r["sha256"]))
    current = current_ids(ReturnKey(r["id"], r["agency_code"], r["status"], bool(r["counted"]), r["received_at"],
                                    r["sha256"]) for r in rows)
    feedback = _feedback_paths(ledger)
    by_agency: dict[str | None, list[ReturnState]] = {}
    for row in rows:
        state = _return_state(row, current, feedback)
        by_agency.setdefault(state.agency if registry.get(state.agency) else None, []).append(state)
    contacts = _contacts(ledger, spec, [r.submission_id for rs in by_agency.values() for r in rs])
    agencies = tuple(_agency_state(a, tuple(by_agency.get(a.code, ())), contacts) for a in registry.agencies)
    deadline = spec.form.get("deadline")
    return RoundStatus(spec.form_id, spec.version, spec.round, deadline if isinstance(deadline, dt.date) else None,
                       today or dt.date.today(), agencies, tuple(by_agency.get(None, ())), tuple(ledger.rounds()))


def current_ids(returns: Iterable[ReturnKey]) -> set[int]:
    """The ids of the current returns: per agency the counted one, and the newest if it is not valid; every
    return whose agency is unknown. Newest by `ReturnKey.newness`, so ties of received time are broken the
    same way whatever order the returns were processed in."""
    counted: dict[str, int] = {}
    newest: dict[str, ReturnKey] = {}
    unknown: set[int] = set()
    for r in returns:
        if not r.agency:
            unknown.add(r.id)
            continue
        if r.agency not in newest or r.newness > newest[r.agency].newness:
            newest[r.agency] = r
        if r.counted:
            counted[r.agency] = r.id
    return set(counted.values()) | unknown | {r.id for r in newest.values() if r.status not in ACCEPTED}


def _return_state(row: dict[str, Any], current: set[int], feedback: dict[tuple[int, str], str]) -> ReturnState:
    status = row["status"]
    if row["id"] not in current:
        state = SUPERSEDED
    else:
        state = {"accepted": VALID, "accepted_with_warnings": VALID_WITH_WARNINGS}.get(status, NOT_VALID)
    return ReturnState(
        int(row["id"]), row["file_name"], row["agency_code"] or None, status, state, bool(row["counted"]),
        dt.datetime.fromisoformat(row["received_at"]), dt.datetime.fromisoformat(row["recorded_at"]),
        int(row["errors"]), int(row["warnings"]), int(row["infos"]), feedback.get((row["run_id"], row["file_name"])))


def _agency_state(agency: Agency, returns: tuple[ReturnState, ...], contacts: dict[int, Contact]) -> AgencyState:
    counted = next((r for r in returns if r.counted), None)
    latest = returns[-1] if returns else None
    state = counted.state if counted is not None else NOT_VALID if returns else MISSING
    contact = next((contacts[r.submission_id] for r in reversed(returns) if r.submission_id in contacts), None)
    return AgencyState(agency, state, counted, latest if latest is None or latest.state != SUPERSEDED else counted,
                       returns, contact)


def _feedback_paths(ledger: Ledger) -> dict[tuple[int, str], str]:
    """(run id, file name) → the feedback workbook that run wrote for the file."""
    out = {}
    for run in ledger.runs():
        for key, path in json.loads(run["outputs_json"] or "{}").items():
            if key.startswith(FEEDBACK_KEY):
                out[(run["id"], key[len(FEEDBACK_KEY):])] = path
    return out


def _contacts(ledger: Ledger, spec: FormSpec, submission_ids: list[int]) -> dict[int, Contact]:
    """Each return's contact fields, for the returns that filled in a phone or an e-mail."""
    phone = next((f.id for f in spec.fields.values() if f.type == "phone"), None)
    email = next((f.id for f in spec.fields.values() if f.type == "email"), None)
    person = CONTACT_PERSON if CONTACT_PERSON in spec.fields else None
    fields = [f for f in (person, phone, email) if f]
    out = {}
    for submission_id, values in ledger.values_of(submission_ids, fields).items():
        contact = Contact(*(_text(values.get(f)) if f else "" for f in (person, phone, email)), "return")
        if contact:
            out[submission_id] = contact
    return out


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()
