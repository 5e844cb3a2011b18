"""Benefit amounts of a claim from the benefit-schedule lines in force: pure, no I/O.

Every amount, multiplier, minimum and maximum comes from the schedule rows (PP 82/2019 as
seeded by the reference migration, or whatever regulation replaces it). What this module
knows is how each `calculation` works:

- `fixed`: the row's amount;
- `wage_multiple`: multiplier x declared monthly wage, at least `minimum`, at most `maximum`;
  for the partial-disability line the disability percent multiplies too (percent x 80 x wage);
- `wage_percent_monthly`: multiplier x wage for each month of temporary incapacity that falls
  in the line's window, read from the code's suffix: `..._FIRST_12` pays months 1-12,
  `..._AFTER_12` months 13 on (a line without such a suffix pays every month);
- `as_claimed`: the cost claimed, at most `maximum`; a code ending `_MEDICAL` pays the medical
  cost claimed, `_TRANSPORT` the transport cost;
- `entitlement`: recorded, not paid at once: the scholarship, whose `maximum` is for the
  legal maximum of 2 children together, so each child is entitled to half of it.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

ANY = "any"
# PP 82/2019: the scholarship is for at most 2 children; the schedule's maximum covers both.
SCHOLARSHIP_CHILDREN = 2
_WINDOW = re.compile(r"_(FIRST|AFTER)_([0-9]+)$")
_COSTS = {"_MEDICAL": "medical", "_TRANSPORT": "transport"}


class ScheduleError(ValueError):
    """A schedule line this module cannot compute for the incident."""


@dataclass(frozen=True, slots=True)
class ScheduleLine:
    """The parts of a benefit_schedules row the computation reads."""

    id: int
    program: str
    code: str
    name: str
    calculation: str
    applies_to: str
    amount: int | None
    multiplier: Decimal | None
    minimum: int | None
    maximum: int | None
    legal_basis: str


@dataclass(frozen=True, slots=True)
class Incident:
    """What a claim says that the amounts depend on."""

    program: str
    outcome: str  # a JKK outcome, or "death" for JKM
    declared_wage: int
    incapacity_months: int | None = None
    disability_percent: int | None = None
    children_count: int = 0
    medical_claimed: int = 0
    transport_claimed: int = 0


@dataclass(frozen=True, slots=True)
class BenefitLine:
    schedule_id: int
    code: str
    name: str
    calculation: str
    arithmetic: str
    amount: int
    payable_now: bool
    legal_basis: str


@dataclass(frozen=True, slots=True)
class Benefits:
    lines: tuple[BenefitLine, ...]
    payable_now: int
    entitlement: int
    arithmetic: str

    @property
    def total(self) -> int:
        return self.payable_now + self.entitlement


def rupiah(amount: int) -> str:
    return f"{amount:,}"


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _percent(value: Decimal) -> str:
    return _number(value * 100) + "%"


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _bounded(raw: int, line: ScheduleLine) -> tuple[int, str]:
    """The amount within the line's minimum and maximum, and what the bounds did to it."""
    notes = []
    amount = raw
    if line.minimum is not None:
        if raw < line.minimum:
            amount = line.minimum
            notes.append(f"minimum {rupiah(line.minimum)}, so {rupiah(amount)}")
        else:
            notes.append(f"minimum {rupiah(line.minimum)}")
    if line.maximum is not None:
        if raw > line.maximum:
            amount = line.maximum
            notes.append(f"maximum {rupiah(line.maximum)}, so {rupiah(amount)}")
        else:
            notes.append(f"maximum {rupiah(line.maximum)}")
    return amount, "".join(f"; {note}" for note in notes)


def _multiplier(line: ScheduleLine) -> Decimal:
    if line.multiplier is None:
        raise ScheduleError(f"{line.code}: a {line.calculation} line needs a multiplier")
    return Decimal(line.multiplier)


def _fixed(line: ScheduleLine, incident: Incident) -> tuple[int, str] | None:
    if line.amount is None:
        raise ScheduleError(f"{line.code}: a fixed line needs an amount")
    return line.amount, rupiah(line.amount)


def _wage_multiple(line: ScheduleLine, incident: Incident) -> tuple[int, str] | None:
    multiplier = _multiplier(line)
    wage = incident.declared_wage
    if line.applies_to == "partial_disability":
        if incident.disability_percent is None:
            raise ScheduleError(f"{line.code}: partial disability needs the disability percent")
        raw = _round(Decimal(incident.disability_percent) / 100 * multiplier * wage)
        text = f"{incident.disability_percent}% x {_number(multiplier)} x {rupiah(wage)}"
    else:
        raw = _round(multiplier * wage)
        text = f"{_number(multiplier)} x {rupiah(wage)}"
    amount, bounds = _bounded(raw, line)
    return amount, f"{text} = {rupiah(raw)}{bounds}"


def _months_in_window(code: str, months: int) -> int:
    match = _WINDOW.search(code)
    if match is None:
        return months
    edge = int(match.group(2))
    return min(months, edge) if match.group(1) == "FIRST" else max(months - edge, 0)


def _wage_percent_monthly(line: ScheduleLine, incident: Incident) -> tuple[int, str] | None:
    if incident.incapacity_months is None:
        raise ScheduleError(f"{line.code}: temporary incapacity needs the months of incapacity")
    months = _months_in_window(line.code, incident.incapacity_months)
    if months == 0:
        return None
    multiplier = _multiplier(line)
    wage = incident.declared_wage
    raw = _round(months * multiplier * wage)
    amount, bounds = _bounded(raw, line)
    unit = "month" if months == 1 else "months"
    text = f"{months} {unit} x {_percent(multiplier)} x {rupiah(wage)} = {rupiah(raw)}{bounds}"
    return amount, text


def _as_claimed(line: ScheduleLine, incident: Incident) -> tuple[int, str] | None:
    cost = next((name for suffix, name in _COSTS.items() if line.code.endswith(suffix)), None)
    if cost is None:
        raise ScheduleError(f"{line.code}: no claimed cost matches this line")
    claimed = incident.medical_claimed if cost == "medical" else incident.transport_claimed
    if claimed <= 0:
        return None
    amount, bounds = _bounded(claimed, line)
    return amount, f"{cost} as claimed {rupiah(claimed)}{bounds}"


def _entitlement(line: ScheduleLine, incident: Incident) -> tuple[int, str] | None:
    if incident.children_count <= 0:
        return None
    if line.maximum is None:
        raise ScheduleError(f"{line.code}: an entitlement line needs a maximum")
    children = min(incident.children_count, SCHOLARSHIP_CHILDREN)
    per_child = line.maximum // SCHOLARSHIP_CHILDREN
    amount = per_child * children
    noun = "child" if children == 1 else "children"
    text = (
        f"{children} {noun} x up to {rupiah(per_child)} = up to {rupiah(amount)} "
        f"(maximum {rupiah(line.maximum)} for {SCHOLARSHIP_CHILDREN} children; "
        "paid per school year, not at once)"
    )
    return amount, text


_CALCULATIONS = {
    "fixed": _fixed,
    "wage_multiple": _wage_multiple,
    "wage_percent_monthly": _wage_percent_monthly,
    "as_claimed": _as_claimed,
    "entitlement": _entitlement,
}


def applies(line: ScheduleLine, incident: Incident) -> bool:
    return line.program == incident.program and line.applies_to in (incident.outcome, ANY)


def compute(schedule: Sequence[ScheduleLine], incident: Incident) -> Benefits:
    """The benefit lines of `incident` under `schedule` (the rows in force on its date)."""
    if incident.declared_wage <= 0:
        raise ScheduleError("the declared wage must be positive")
    lines: list[BenefitLine] = []
    for line in schedule:
        if not applies(line, incident):
            continue
        calculate = _CALCULATIONS.get(line.calculation)
        if calculate is None:
            raise ScheduleError(f"{line.code}: unknown calculation {line.calculation}")
        result = calculate(line, incident)
        if result is None:
            continue
        amount, arithmetic = result
        lines.append(
            BenefitLine(
                schedule_id=line.id,
                code=line.code,
                name=line.name,
                calculation=line.calculation,
                arithmetic=arithmetic,
                amount=amount,
                payable_now=line.calculation != "entitlement",
                legal_basis=line.legal_basis,
            )
        )
    payable = [line.amount for line in lines if line.payable_now]
    entitlement = sum(line.amount for line in lines if not line.payable_now)
    return Benefits(
        tuple(lines), sum(payable), entitlement, totals_arithmetic(payable, entitlement)
    )


def totals_arithmetic(payable: Sequence[int], entitlement: int) -> str:
    """`20,000,000 + 12,000,000 + 10,000,000 = 42,000,000 payable now[; entitlement ...]`."""
    text = " + ".join(rupiah(amount) for amount in payable) or "0"
    text += f" = {rupiah(sum(payable))} payable now"
    if entitlement:
        text += f"; entitlement up to {rupiah(entitlement)}"
    return text
