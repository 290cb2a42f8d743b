"""The agency registry: who is expected to report, in which group, under which names.

`workbook_templates/agencies.csv` is the one file another province replaces. Names are matched through the
official name, the code and every alias, accent- and case-insensitively after NFC and legacy-font
conversion (`normalize_key`), so "UBND TX Hà Tĩnh", "Thị xã Hà Tĩnh" and "Hµ TÜnh"-style TCVN3 text all
resolve to TP-HATINH.

Columns. Required: code, name_vi, name_en, group, group_vi, group_en, loai_don_vi, aliases (names separated by
"|"; an old name stays here when an agency is renamed, so returns written under it still match). Optional (a
province's registry without them still loads, with the column's empty value for every agency):

- ``phone``, ``email`` — the agency office's contacts, for reminders (a return's own contact fields come first).
  Phones are written as in 2007: area code and local number, "039.855544".
- ``valid_from``, ``valid_to`` — the first and last day the agency exists as a reporting body (empty: since
  before any round / still exists), written yyyy-mm-dd or dd/mm/yyyy. ``successor`` — the code of the agency
  that takes over its reporting after ``valid_to`` (the 2008 reorganisation: Sở Bưu chính, Viễn thông →
  Sở Thông tin và Truyền thông). A successor must be a code of the same registry, needs a ``valid_to``, and
  successors never lead back to the agency itself.
  The successor must exist on the day after ``valid_to`` (no day without a reporting body; a successor
  founded later than that is refused).
- ``transfers`` — a part of the agency's work that went to another agency than its successor when it ended,
  as ``CODE: what`` (several separated by "|"): "STTTT: báo chí, xuất bản" for Sở Văn hóa - Thông tin, whose
  successor is Sở Văn hóa, Thể thao và Du lịch. The figures of a comparison follow the successor only; a
  transfer is said beside them (plan_vs_result's notes). An agency dissolved without a successor lists where
  its work went here. Each code must exist on the day after ``valid_to``.
- ``basis`` — the decision the dates come from, for the clerk (free text, not checked).
- ``size_class`` — the agency's size, for believable samples: S, M or L, the staff of the reporting scope
  (a sở's office, or a UBND huyện's office and specialised departments) falling in :data:`STAFF_BANDS`:
  S 20–45, M 45–90, L 90–200 people. Empty means unknown (a sample then uses the type's whole range).

A round expects the agencies existing on the day it is judged at, its deadline (:func:`round_day`): who exists
then is who must send the return, whatever period its figures cover. :meth:`Registry.of_round` is that list,
for every stage that lists expected agencies; the registry itself keeps every agency of the file, so a return
of an agency that ended is still recognised (and refused, naming its successor).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pipeline.form.bundled import bundled
from pipeline.normalize import normalize_key, tcvn3_to_unicode, vni_to_unicode

DEFAULT_REGISTRY = bundled("agencies.csv")
COLUMNS = ("code", "name_vi", "name_en", "group", "group_vi", "group_en", "loai_don_vi", "aliases")
# Optional: the agency office's phone and e-mail, for reminders to agencies that have not reported (a registry
# without them still loads; the contact fields of an agency's own return are used first).
CONTACT_COLUMNS = ("phone", "email")
# Optional: when the agency exists as a reporting body and who takes over after it (see the module docstring).
LIFETIME_COLUMNS = ("valid_from", "valid_to", "successor", "transfers", "basis")
# Optional: the agency's size class, and the staff band (inclusive, people) each class stands for.
SIZE_COLUMN = "size_class"
STAFF_BANDS: dict[str, tuple[int, int]] = {"S": (20, 45), "M": (45, 90), "L": (90, 200)}
OPTIONAL_COLUMNS = (*CONTACT_COLUMNS, *LIFETIME_COLUMNS, SIZE_COLUMN)
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]*$")
# Prefixes agencies put before their own names in free text: "UBND huyện Can Lộc" → "huyện Can Lộc".
_PREFIXES = ("uy ban nhan dan ", "ubnd ")


class RegistryError(ValueError):
    """The registry file has a mistake; the message names the line."""


@dataclass(frozen=True)
class Agency:
    code: str
    name_vi: str
    name_en: str
    group: str
    group_vi: str
    group_en: str
    loai_don_vi: str
    aliases: tuple[str, ...]
    phone: str = ""
    email: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    successor: str = ""
    size_class: str = ""
    transfers: tuple[tuple[str, str], ...] = ()  # (agency code, the part of the work it took over)
    basis: str = ""

    def name(self, lang: str = "vi") -> str:
        return self.name_vi if lang == "vi" else self.name_en

    def exists_on(self, day: dt.date) -> bool:
        """Whether the agency is a reporting body on `day` (between valid_from and valid_to, both included)."""
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)

    @property
    def ended(self) -> dt.date | None:
        """The first day the agency no longer exists (the day after valid_to), or None."""
        return self.valid_to + dt.timedelta(days=1) if self.valid_to else None

    @property
    def staff_band(self) -> tuple[int, int] | None:
        """(fewest, most) staff of the agency's size class, or None when the class is unknown."""
        return STAFF_BANDS.get(self.size_class)


def round_day(spec: Any) -> dt.date | None:
    """The day a round is judged at: its deadline (`form.deadline` of the spec), or None when it has none."""
    day = (getattr(spec, "form", None) or {}).get("deadline")
    return day if isinstance(day, dt.date) else None


@dataclass(frozen=True, eq=False)
class Registry:
    """The agencies of a registry file (`agencies`), or of one day of it (`of_round`, `on`: then `day` is set,
    `agencies` are those existing on it, and `whole` is the file's registry)."""

    agencies: tuple[Agency, ...]
    path: str = ""
    day: dt.date | None = None
    parent: Registry | None = None

    @property
    def whole(self) -> Registry:
        """Every agency of the registry file, whatever the day."""
        return self.parent if self.parent is not None else self

    def of_round(self, spec: Any) -> Registry:
        """The agencies a round expects: those existing on its day (`round_day`: the deadline), registry
        order. Every stage that lists expected agencies (templates, samples, consolidation and its coverage,
        status, reminders, the desk's board) takes them from here. A spec without a deadline expects every
        agency of the file."""
        day = round_day(spec)
        return self.whole if day is None else self.on(day)

    def on(self, day: dt.date) -> Registry:
        """The agencies existing on `day`, as a registry of that day (its lookups know only them)."""
        whole = self.whole
        return Registry(tuple(a for a in whole.agencies if a.exists_on(day)), whole.path, day, whole)

    def predecessors(self, code: str, day: dt.date) -> list[Agency]:
        """The agencies (registry order) that ended before `day` and whose reporting passed, through their
        successors, to `code` on `day` (SBCVT for STTTT; SCN and STMDL for SCT)."""
        whole = self.whole
        return [a for a in whole._ended if a.code != code and a.valid_to is not None and a.valid_to < day
                and (body := whole.reporting_body(a.code, day)) is not None and body.code == code]

    @cached_property
    def _ended(self) -> tuple[Agency, ...]:
        """The agencies with a last day, registry order (few: a lookup of predecessors walks only them)."""
        return tuple(a for a in self.agencies if a.valid_to is not None)

    @cached_property
    def by_code(self) -> dict[str, Agency]:
        return {a.code: a for a in self.agencies}

    @cached_property
    def _keys(self) -> dict[str, str]:
        keys: dict[str, str] = {}
        for agency in self.agencies:
            for name in (agency.code, agency.name_vi, agency.name_en, *agency.aliases):
                keys.setdefault(normalize_key(name), agency.code)
        return keys

    @cached_property
    def groups(self) -> list[tuple[str, str, str]]:
        """(group code, Vietnamese label, English label) in registry order."""
        seen: dict[str, tuple[str, str, str]] = {}
        for a in self.agencies:
            seen.setdefault(a.group, (a.group, a.group_vi, a.group_en))
        return list(seen.values())

    def get(self, code: str | None) -> Agency | None:
        return self.by_code.get((code or "").strip().upper())

    def reporting_body(self, code: str, day: dt.date) -> Agency | None:
        """The agency that reports for `code` on `day`: the agency itself while it exists, else the first of its
        successors that exists then; None for an unknown code, a day before the agency existed, or a day after
        it ended with no successor existing then."""
        whole = self.whole
        agency = whole.get(code)
        while agency is not None and not agency.exists_on(day):
            ended = agency.valid_to is not None and day > agency.valid_to
            agency = whole.by_code.get(agency.successor) if ended and agency.successor else None
        return agency

    def resolve(self, text: str | None) -> str | None:
        """The agency code a code, name or alias stands for, or None."""
        if not text or not str(text).strip():
            return None
        text = str(text)
        # Short names carry too few marks for legacy-font detection to be sure ("Së Néi vô"); a lookup
        # can afford to try both old decodings after the text as it is.
        for candidate in (text, tcvn3_to_unicode(text), vni_to_unicode(text)):
            code = self._lookup(normalize_key(candidate))
            if code:
                return code
        return None

    def _lookup(self, key: str) -> str | None:
        if key in self._keys:
            return self._keys[key]
        for prefix in _PREFIXES:
            if key.startswith(prefix) and key[len(prefix):] in self._keys:
                return self._keys[key[len(prefix):]]
        return None

    @cached_property
    def _code_rank(self) -> tuple[dict[str, int], int]:
        """(code → its priority when a file name holds several: longest first, then registry order;
        the longest code's length)."""
        ranked = sorted(self.by_code, key=len, reverse=True)  # stable: equal lengths keep registry order
        return {code: rank for rank, code in enumerate(ranked)}, len(ranked[0]) if ranked else 0

    def code_in_filename(self, file_name: str) -> str | None:
        """An agency code written in a file name ("BM-UDCNTT-2007_STC.xlsx", "stc - bao cao.xls"), if any.

        A code counts where it stands between the ends of the name or characters other than A–Z and 0–9
        (so "BQL-KCN" is found in "BC-BQL-KCN-2007"); the longest such code wins, so "BQL-KCN" beats a
        stray "KCN". The candidate stretches of the name are looked up in the registry, so the cost
        depends on the name's length, not on the number of agencies."""
        rank, longest = self._code_rank
        best: str | None = None
        for chunk in _NOT_CODE_CHAR.split(Path(file_name).stem.upper()):  # stretches of A–Z, 0–9 and '-'
            pieces = chunk.split("-")
            for first in range(len(pieces)):
                if not pieces[first]:
                    continue  # a code starts with a letter or digit, after a separator
                for last in range(first, len(pieces)):
                    candidate = "-".join(pieces[first : last + 1])
                    if len(candidate) > longest:
                        break
                    if candidate in rank and (best is None or rank[candidate] < rank[best]):
                        best = candidate
        return best


_NOT_CODE_CHAR = re.compile(r"[^A-Z0-9-]+")


def load_registry(path: str | Path | None = None) -> Registry:
    path = Path(path) if path else DEFAULT_REGISTRY
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise RegistryError(f"{path}: cannot read the registry ({err})") from None
    return parse_registry(text, str(path))


def parse_registry(text: str, source: str = "registry") -> Registry:
    reader = csv.DictReader(io.StringIO(text))
    missing = set(COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise RegistryError(f"{source}: missing columns {sorted(missing)}; expected {', '.join(COLUMNS)}")
    agencies = []
    successors: dict[str, tuple[str, int]] = {}
    lines: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        code = (row["code"] or "").strip()
        if not CODE_PATTERN.match(code):
            raise RegistryError(f"{source} line {line}: code {code!r} must be upper-case ASCII letters, digits and -")
        if not (row["name_vi"] or "").strip() or not (row["group"] or "").strip():
            raise RegistryError(f"{source} line {line}: name_vi and group are required")
        aliases = tuple(a.strip() for a in (row["aliases"] or "").split("|") if a.strip())
        optional = {column: (row.get(column) or "").strip() for column in OPTIONAL_COLUMNS}
        valid_from = _date(optional["valid_from"], "valid_from", source, line)
        valid_to = _date(optional["valid_to"], "valid_to", source, line)
        if valid_from and valid_to and valid_to < valid_from:
            raise RegistryError(f"{source} line {line}: valid_to {valid_to:%d/%m/%Y} is before valid_from "
                                f"{valid_from:%d/%m/%Y}")
        successor = optional["successor"].upper()
        if successor:
            if successor == code:
                raise RegistryError(f"{source} line {line}: {code} cannot be its own successor")
            if valid_to is None:
                raise RegistryError(f"{source} line {line}: successor {successor} needs the valid_to date on "
                                    f"which {code} ends")
            successors[code] = (successor, line)
        transfers = _transfers(optional["transfers"], code, valid_to, source, line)
        size_class = optional["size_class"].upper()
        if size_class and size_class not in STAFF_BANDS:
            raise RegistryError(f"{source} line {line}: size_class {optional['size_class']!r} must be one of "
                                f"{', '.join(STAFF_BANDS)} or empty")
        agencies.append(Agency(code, row["name_vi"].strip(), (row["name_en"] or "").strip(), row["group"].strip(),
                               (row["group_vi"] or row["group"]).strip(), (row["group_en"] or row["group"]).strip(),
                               (row["loai_don_vi"] or "").strip(), aliases, phone=optional["phone"],
                               email=optional["email"], valid_from=valid_from, valid_to=valid_to,
                               successor=successor, size_class=size_class, transfers=transfers,
                               basis=optional["basis"]))
        lines.setdefault(code, line)
    duplicates = sorted(code for code, n in Counter(a.code for a in agencies).items() if n > 1)
    if duplicates:
        raise RegistryError(f"{source}: duplicate codes {duplicates}")
    if not agencies:
        raise RegistryError(f"{source}: no agencies")
    _check_successors(successors, source)
    _check_handovers(agencies, lines, source)
    return Registry(tuple(agencies), source)


def _date(text: str, column: str, source: str, line: int) -> dt.date | None:
    if not text:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise RegistryError(f"{source} line {line}: {column} {text!r} is not a date (yyyy-mm-dd or dd/mm/yyyy)")


def _check_successors(successors: dict[str, tuple[str, int]], source: str) -> None:
    """Following successors never comes back to where it started (that each is a known code, existing when its
    predecessor ends, is `_check_handovers`'s, for successors and transfers alike)."""
    for start in successors:
        seen, code = {start}, successors[start][0]
        while code in successors:
            if code in seen:
                raise RegistryError(f"{source} line {successors[start][1]}: the successors of {start} lead back "
                                    f"to {code}")
            seen.add(code)
            code = successors[code][0]


def _transfers(text: str, code: str, valid_to: dt.date | None, source: str,
               line: int) -> tuple[tuple[str, str], ...]:
    """The ``transfers`` column: "CODE: what|CODE: what" → ((CODE, what), …)."""
    out = []
    for item in (part.strip() for part in text.split("|")):
        if not item:
            continue
        target, _, what = item.partition(":")
        target, what = target.strip().upper(), what.strip()
        if not CODE_PATTERN.match(target) or not what:
            raise RegistryError(f"{source} line {line}: transfers {item!r} must be written CODE: what was "
                                f"transferred (several separated by |)")
        if target == code:
            raise RegistryError(f"{source} line {line}: {code} cannot transfer work to itself")
        out.append((target, what))
    if out and valid_to is None:
        raise RegistryError(f"{source} line {line}: transfers need the valid_to date on which {code} ends")
    return tuple(out)


def _check_handovers(agencies: list[Agency], lines: dict[str, int], source: str) -> None:
    """A successor, and an agency taking a transfer, exist on the day the agency ended (no day without a
    reporting body: a successor founded later, or ended before, is refused)."""
    by_code = {a.code: a for a in agencies}
    for agency in agencies:
        line = lines[agency.code]
        takers = [(agency.successor, "successor")] if agency.successor else []
        takers += [(code, "transfer to") for code, _ in agency.transfers]
        for code, role in takers:
            taker = by_code.get(code)
            if taker is None:
                raise RegistryError(f"{source} line {line}: {role} {code} of {agency.code} is not a code of the "
                                    f"registry")
            if agency.ended is not None and not taker.exists_on(agency.ended):
                raise RegistryError(f"{source} line {line}: {role} {code} of {agency.code} does not exist on "
                                    f"{agency.ended:%d/%m/%Y}, the day after {agency.code} ends (valid_to "
                                    f"{agency.valid_to:%d/%m/%Y}); {code} valid_from "
                                    f"{_shown(taker.valid_from)}, valid_to {_shown(taker.valid_to)}")


def _shown(day: dt.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else "(empty)"
