"""Coverage rules: is a NIK covered on a day and why not, and who sees what of the answer.

Answers are built as plain dicts from asyncpg Records and serialized with orjson: this is the
hottest path of the service, and pydantic models or ORM objects per row would cost more than
the database lookup itself. schemas.py describes the same shapes for the docs.
"""

import asyncio
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accesslog import AccessLogWriter, record_reads
from app.core.auth import Principal
from app.core.clock import today
from app.core.collector import collector_paused
from app.core.errors import Forbidden, Unprocessable
from app.core.pagination import Page, decode_id_cursor, page_of
from app.coverage import repository
from app.coverage.schemas import (
    MAX_NIKS,
    AccessLogRead,
    CoverageCheckRequest,
)
from app.models import COVERING_STATUSES
from app.nik import INVALID_NIK_MESSAGE, format_nik, mask_nik, nik_input_error, nik_of_input

ENDPOINT_ONE = "GET /v1/coverage/{nik}"
ENDPOINT_MANY = "POST /v1/coverage/checks"
COVERING = frozenset(COVERING_STATUSES)
# A batch is read CHUNK NIKs a query, PARALLEL_QUERIES queries at a time, each on its own
# connection: a chunk's answers are built while the next chunks are still in the database
# (measured with bench/bench_coverage.py at 7.35M registrations: a 10,000-NIK batch's one query
# took 110 to 250 ms and its answers about as long again; in chunks of 1,250 two at a time the
# whole batch took 0.2 to 0.27 s against 0.41 s). Between two chunks' answers the event loop
# turns, so a batch holds up the other requests of its process for a few ms at a time.
CHUNK = 1_250
PARALLEL_QUERIES = 2

# Where a registration stands on the day asked about. When no registration covers the day the
# answer's reason is the highest-ranked state among them: a held registration spanning the day
# (coverage waits on a review), then one that would have covered it but was ended early
# (terminated), then one whose period is over (ended), then ones yet to start (not_started).
COVERS = 0
NOT_STARTED = 1
ENDED = 2
TERMINATED = 3
HELD = 4
REASONS = {NOT_STARTED: "not_started", ENDED: "ended", TERMINATED: "terminated", HELD: "held"}


def state_on(status: str, start: date, end: date, ended_on: date | None, on: date) -> int:
    """COVERS or the reason (a rank) one registration gives for `on`; rejected never get here."""
    if status in COVERING:
        last = end if ended_on is None else ended_on
        if start <= on <= last:
            return COVERS
        if on > end:
            return ENDED
        if on < start and (ended_on is None or ended_on >= start):
            return NOT_STARTED
        # Ended before `on` within its planned period, or cancelled before it began.
        return TERMINATED
    if on < start:
        return NOT_STARTED
    return ENDED if on > end else HELD


def answer(nik: int, on: date, rows: Sequence[Any], *, disclosure: "Disclosure") -> dict[str, Any]:
    """The coverage answer for one NIK from its registration rows (repository._SELECT order)."""
    registrations = []
    covered = False
    worst = 0
    everyone, parties = disclosure.all_registrations, disclosure.party_registrations
    for row in rows:
        _, id_, role, position, election, number, branch, programs = row[:8]
        start, end, ended_on, status, kpj, full_name, birth_date, party = row[8:]
        state = state_on(status, start, end, ended_on, on)
        full = everyone or (parties and party)
        item = {
            "id": id_,
            "role": role,
            "position": position,
            "election": election,
            "agreement_number": number,
            "bpjs_branch": branch,
            "programs": programs,
            "coverage_start": start,
            "coverage_end": end,
            "ended_on": ended_on,
            "status": status,
            "covers": state == COVERS,
            "masked": not full,
        }
        if full:
            item["kpj"] = kpj
            item["full_name"] = full_name
            item["birth_date"] = birth_date
        registrations.append(item)
        if state == COVERS:
            covered = True
        elif state > worst:
            worst = state
    reason = None
    if not covered:
        reason = REASONS[worst] if registrations else "not_registered"
    return {
        "nik": format_nik(nik) if disclosure.nik else mask_nik(nik),
        "on": on,
        "covered": covered,
        "reason": reason,
        "registrations": registrations,
    }


@dataclass(frozen=True, slots=True)
class Disclosure:
    """What a caller may see: the NIK it asked about, and whose names, birth dates and KPJs.

    The NIK is the caller's own input, so pii:read alone unmasks it; personal data needs
    pii:read and party status to the registration's agreement, or an operator.
    """

    nik: bool
    all_registrations: bool
    party_registrations: bool

    @staticmethod
    def of(principal: Principal) -> "Disclosure":
        if not principal.has("pii:read"):
            return MASKED
        return OPERATOR if principal.is_operator else PARTY


# The three answers of Disclosure.of, made once: every coverage read asks.
MASKED = Disclosure(nik=False, all_registrations=False, party_registrations=False)
OPERATOR = Disclosure(nik=True, all_registrations=True, party_registrations=True)
PARTY = Disclosure(nik=True, all_registrations=False, party_registrations=True)


Connect = Callable[[], AbstractAsyncContextManager[Any]]


async def check_one(
    connect: Connect,
    principal: Principal,
    *,
    nik: str,
    on: date | None,
    access_log: AccessLogWriter | None,
) -> dict[str, Any]:
    """The answer for one NIK; `connect()` gives the asyncpg connection to read on."""
    value = nik_of_input(nik)
    if value is None:
        raise Unprocessable(INVALID_NIK_MESSAGE, code="invalid_nik")
    day = on or today()
    disclosure = Disclosure.of(principal)
    async with connect() as connection:
        rows = await repository.coverage_of_nik(
            connection, value, principal.organization_id, personal=disclosure.nik
        )
        await record_reads(
            connection,
            access_log,
            api_key_id=principal.key_id,
            organization_id=principal.organization_id,
            endpoint=ENDPOINT_ONE,
            reads=[(value, len(rows))],
        )
    return answer(value, day, rows, disclosure=disclosure)


async def check_many_json(
    connect: Connect,
    principal: Principal,
    *,
    data: CoverageCheckRequest,
    access_log: AccessLogWriter | None,
) -> bytes:
    """`check_many`'s answer as JSON, built and encoded with the collector paused.

    The answer's objects are all freed before the collector is back on: alive then, the first
    collection after the pause would walk every one of them (measured, 15 ms a 10,000-NIK batch).
    """
    with collector_paused():
        return orjson.dumps(
            await check_many(connect, principal, data=data, access_log=access_log), default=str
        )


def require_checkable(data: CoverageCheckRequest) -> None:
    """A batch asks either `niks` or `items`, at most MAX_NIKS of them."""
    if (data.niks is None) == (data.items is None):
        raise Unprocessable("Send either `niks` or `items`", code="niks_or_items")
    asked = len(data.niks if data.niks is not None else data.items or ())
    if asked > MAX_NIKS:
        raise Unprocessable(
            f"At most {MAX_NIKS:,} NIKs per request; got {asked:,}", code="too_many_niks"
        )


async def check_many(
    connect: Connect,
    principal: Principal,
    *,
    data: CoverageCheckRequest,
    access_log: AccessLogWriter | None,
) -> dict[str, Any]:
    """Answers in request order, from one query per CHUNK of the NIKs asked (see CHUNK)."""
    require_checkable(data)
    default_on = data.on or today()
    entries: list[tuple[Any, date]]
    if data.niks is not None:
        entries = [(raw, default_on) for raw in data.niks]
    else:
        entries = [(item.nik, item.on or default_on) for item in data.items or ()]
    values = [nik_of_input(raw) for raw, _ in entries]
    batch = _Batch(connect, principal, Disclosure.of(principal), entries, values)
    await asyncio.gather(*(batch.answer_chunk(start) for start in range(0, len(entries), CHUNK)))
    distinct = dict.fromkeys(value for value in values if value is not None)
    async with connect() as connection:
        await record_reads(
            connection,
            access_log,
            api_key_id=principal.key_id,
            organization_id=principal.organization_id,
            endpoint=ENDPOINT_MANY,
            reads=[(value, batch.registrations[value]) for value in distinct],
        )
    return {"on": default_on, "results": batch.results}


class _Batch:
    """A batch check's answers, filled in chunk by chunk as each chunk's rows arrive."""

    def __init__(
        self,
        connect: Connect,
        principal: Principal,
        disclosure: Disclosure,
        entries: list[tuple[Any, date]],
        values: list[int | None],
    ) -> None:
        self.connect = connect
        self.organization_id = principal.organization_id
        self.disclosure = disclosure
        self.entries = entries
        self.values = values
        self.results: list[Any] = [None] * len(entries)
        self.registrations: dict[int, int] = {}  # NIK -> its registrations found
        self._answers: dict[tuple[int, date], dict[str, Any]] = {}
        self._queries = asyncio.Semaphore(PARALLEL_QUERIES)

    async def answer_chunk(self, start: int) -> None:
        end = start + CHUNK
        niks = list(dict.fromkeys(value for value in self.values[start:end] if value is not None))
        by_nik: dict[int, list[Any]] = {}
        if niks:
            async with self._queries, self.connect() as connection:
                rows = await repository.coverage_of_niks(
                    connection, niks, self.organization_id, personal=self.disclosure.nik
                )
            for row in rows:
                by_nik.setdefault(row[0], []).append(row)
        for nik in niks:
            self.registrations[nik] = len(by_nik.get(nik, ()))
        for index in range(start, min(end, len(self.entries))):
            raw, on = self.entries[index]
            self.results[index] = _result(
                raw, on, self.values[index], by_nik, self._answers, self.disclosure
            )


def _result(
    raw: Any,
    on: date,
    value: int | None,
    by_nik: dict[int, list[Any]],
    answers: dict[tuple[int, date], dict[str, Any]],
    disclosure: Disclosure,
) -> dict[str, Any]:
    """One entry of a batch's results: the error of a malformed NIK, or its answer on `on`
    (made once for each NIK and day asked)."""
    if value is None:
        echoed = raw if isinstance(raw, str) else None
        if echoed is not None and not disclosure.nik:
            echoed = mask_nik(echoed)
        return {"nik": echoed, "on": on, "error": nik_input_error(raw)}
    found = answers.get((value, on))
    if found is None:
        found = answers[(value, on)] = answer(
            value, on, by_nik.get(value, ()), disclosure=disclosure
        )
    return found


async def list_access_log(
    session: AsyncSession,
    principal: Principal,
    *,
    nik: str | None,
    organization_id: uuid.UUID | None,
    api_key_id: uuid.UUID | None,
    since: date | None,
    limit: int,
    cursor: str | None,
) -> Page[AccessLogRead]:
    """Newest first. Operators only: the log itself says whose NIK was looked up."""
    if not principal.is_operator:
        raise Forbidden("Only operators may read the access log", code="operators_only")
    value = None
    if nik is not None:
        value = nik_of_input(nik)
        if value is None:
            raise Unprocessable(INVALID_NIK_MESSAGE, code="invalid_nik")
    before_id = decode_id_cursor(cursor) if cursor is not None else None
    stmt = repository.access_log_query(
        nik=value,
        organization_id=organization_id,
        api_key_id=api_key_id,
        before_id=before_id,
        since=since,
    ).limit(limit + 1)
    entries, next_cursor = page_of(
        await repository.access_log_entries(session, stmt), limit, lambda entry: [entry.id]
    )
    items = [
        AccessLogRead(
            id=entry.id,
            at=entry.at,
            api_key_id=entry.api_key_id,
            organization_id=entry.organization_id,
            nik=format_nik(entry.nik),
            endpoint=entry.endpoint,
            registrations=entry.registrations,
        )
        for entry in entries
    ]
    return Page(items=items, next_cursor=next_cursor)
