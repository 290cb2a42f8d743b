"""Who has reported: the completeness table of a round, straight from the ledger (no pandas, instant)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from pipeline.form.registry import Registry
from pipeline.i18n import t
from pipeline.record.ledger import Ledger


@dataclass(frozen=True)
class AgencyStatus:
    code: str
    name: str
    group: str
    status: str  # missing | rejected | quarantined | accepted | accepted_with_warnings
    file: str | None
    received_at: str | None
    errors: int
    warnings: int
    returns: int  # how many returns received in all

    def label(self, lang: str = "vi") -> str:
        return t(f"status.{self.status}", lang)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"label_vi": self.label("vi"), "label_en": self.label("en")}


def completeness(ledger: Ledger, registry: Registry, round_: str) -> list[AgencyStatus]:
    """Every registry agency with the return that counts, else its latest return, else 'missing'."""
    by_agency: dict[str, list[dict[str, Any]]] = {}
    for row in ledger.submissions(round_):
        if row["agency_code"]:
            by_agency.setdefault(row["agency_code"], []).append(row)
    out = []
    for agency in registry.agencies:
        rows = by_agency.get(agency.code, [])
        chosen = next((r for r in rows if r["counted"]), None) or (rows[-1] if rows else None)
        out.append(AgencyStatus(
            agency.code, agency.name_vi, agency.group, chosen["status"] if chosen else "missing",
            chosen["file_name"] if chosen else None, chosen["received_at"] if chosen else None,
            chosen["errors"] if chosen else 0, chosen["warnings"] if chosen else 0, len(rows)))
    return out
