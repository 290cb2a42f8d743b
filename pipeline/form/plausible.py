"""What is believable for one agency of Hà Tĩnh in 2007: its size, its age, its role, its yearly IT budget.

Sample returns of any form of the round draw their figures through a :class:`Profile` (built from the
registry and the spec) and, for a field no generator knows, through :func:`draw` (a value fitting the
field's type, range, choice list and length, scaled to the agency where the unit says what it counts).
:mod:`pipeline.form.sample` builds the returns of the plan form (1.1) on them; a report form of a later year
can build its own on the same profile, so an agency is as large, as old and as well funded in both.

The figures (domain brief §2.3 and §3, [I/K]):

- staff of the reporting scope (a sở's office; a UBND huyện's office and specialised departments) within
  the band of the agency's size class in the registry (S 20–45, M 45–90, L 90–200 people); an agency of
  unknown class takes its type's whole range (sở 20–120, huyện 50–200);
- IT spending mostly 50–400 triệu đồng a year, more for a larger agency; about one agency in twelve spends
  outside that (a small board with 30 triệu, a large sector with 500–900);
- nothing before the agency existed (``valid_from`` in the registry: Lộc Hà, created by Decree 20/2007/NĐ-CP
  on 07/02/2007, has no 2006 spending, no website and no project begun before 2007);
- the focal agency, the one that issues the form (the spec's ``issuer_symbol``: Sở Bưu chính, Viễn thông),
  has an IT unit with IT staff, official e-mail and a website; elsewhere these are rare in 2007.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from typing import Any

from pipeline.form.registry import Agency
from pipeline.form.spec import Field, FormSpec

# Staff of an agency whose size class the registry does not give, by group (domain brief §2.3).
TYPE_STAFF = {"so": (20, 120), "huyen": (50, 200)}
# A year's IT spending (triệu đồng) of a typical agency of each size class; "" is an unknown class.
SPENDING = {"S": (60, 150), "M": (90, 260), "L": (150, 320), "": (60, 320)}
SPENDING_LOW, SPENDING_HIGH = 50, 400  # the band most agency-years fall in
OUTLIER_SHARE = 0.08  # agencies whose spending falls outside the band (both years)
YEAR = 2007  # the year the figures describe
AS_OF = dt.date(2007, 6, 30)  # the usual "figures as at" date


@dataclass(frozen=True)
class Profile:
    """One agency as the samples see it."""

    agency: Agency
    size_class: str  # S | M | L (the registry's STAFF_BANDS), or "" when the registry does not say
    staff_band: tuple[int, int]  # (fewest, most) staff of the reporting scope
    district: bool  # a UBND huyện, thị xã, thành phố (reports its communes)
    focal: bool  # the agency that issues the form and runs IT for the province
    founded: dt.date | None  # the day it became a reporting body (the registry's valid_from); None: long before

    @classmethod
    def of(cls, spec: FormSpec, agency: Agency) -> Profile:
        band = agency.staff_band or TYPE_STAFF.get(agency.group, TYPE_STAFF["so"])
        return cls(agency, agency.size_class if agency.staff_band else "", band, agency.group == "huyen",
                   agency.code == spec.form.get("issuer_symbol"), agency.valid_from)

    def existed_in(self, year: int) -> bool:
        """Whether the agency existed at the end of ``year`` (so it can have spent, or launched, then)."""
        return self.founded is None or self.founded.year <= year

    @property
    def first_year(self) -> int | None:
        return None if self.founded is None else self.founded.year

    def new_in(self, year: int = YEAR) -> bool:
        """Created during ``year``: too young for a website or a project begun before."""
        return self.founded is not None and self.founded.year >= year

    def staff(self, rng: random.Random) -> int:
        low, high = self.staff_band
        return rng.randint(low, high)

    def spending_base(self, rng: random.Random) -> float:
        """The agency's usual yearly IT spending (triệu đồng): a year's figure is this times a yearly drift."""
        if rng.random() < OUTLIER_SHARE:
            return rng.uniform(25, 38) if rng.random() < 0.5 else rng.uniform(420, 900)
        low, high = SPENDING[self.size_class]
        return rng.uniform(low, high)


# --------------------------------------------------------------------------------------------------------
# A value for any field, from the spec


_PEOPLE, _MACHINES = {"người", "lượt"}, {"chiếc"}
_FILLER = ("thực hiện theo kế hoạch của đơn vị và hướng dẫn của {issuer}",
           "bảo đảm đúng tiến độ, phù hợp với điều kiện thực tế của đơn vị")


def draw(spec: FormSpec, f: Field, rng: random.Random, profile: Profile, *, staff: int | None = None) -> Any:
    """A believable value for a field no generator knows: of its type, inside its range (and its warning
    range), one of its choices, long enough; a count of people or machines is at most ``staff`` (the
    agency's staff when given, else the top of its band), money a share of a year's spending, a year
    never before the agency existed. None for computed fields and the prefilled code and name."""
    if not f.is_input:
        return None
    agency, people = profile.agency, staff if staff is not None else profile.staff_band[1]
    low = _first(f.warn_min, f.min)
    high = _first(f.warn_max, f.max)
    kind = f.type
    if kind == "agency":
        return agency.code
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "choice":
        return rng.choice([c.code for c in spec.choices[f.choices or ""]])
    if kind in {"int", "dec", "pct", "money"}:
        top = {"pct": 100.0}.get(kind, people if f.unit in _PEOPLE | _MACHINES else 10.0)
        if kind == "money":
            top = profile.spending_base(rng)
        low_v = 0.0 if low is None else float(low)
        high_v = min(top, math.inf if high is None else float(high))
        value = rng.uniform(low_v, max(low_v, high_v))
        return round(value, 1) if kind == "money" else round(value, 2) if kind == "dec" else int(value)
    if kind == "year":
        first = max(int(low if low is not None else YEAR - 5), profile.first_year or 0)
        return rng.randint(first, max(first, min(int(high if high is not None else YEAR), YEAR)))
    if kind == "date":
        start = low or AS_OF
        start = max(start, profile.founded) if profile.founded else start
        end = max(start, high or start)
        return start + dt.timedelta(days=rng.randint(0, (end - start).days))
    if kind == "phone":
        return agency.phone or f"039.{rng.choice((855, 856, 857, 858))}{rng.randint(100, 999)}"
    if kind == "email":
        return agency.email or f"vanphong.{slug(agency)}@hatinh.gov.vn"
    if kind == "url":
        return f"http://{slug(agency)}.hatinh.gov.vn"
    if f.pattern:
        return None  # a pattern says more than a generic text knows: leave it to a generator of the form
    text = f"{f.vi}: " + "; ".join(s.format(issuer=spec.form.get("issuer_short_vi", "")) for s in _FILLER) + "."
    return text if kind == "text" or len(text) <= 120 else f.vi


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def slug(agency: Agency) -> str:
    """The agency's name in its addresses: "H-NGHIXUAN" → "nghixuan" (nghixuan.hatinh.gov.vn)."""
    return "".join(ch for ch in agency.code.lower().removeprefix("h-") if ch.isalnum())
