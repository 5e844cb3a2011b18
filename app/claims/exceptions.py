"""The claims domain's errors, with the constraints of the claims table that raise them."""

from collections.abc import Sequence

from app.core.errors import (
    AppError,
    Conflict,
    ConstraintErrors,
    InvalidState,
    NotFound,
    Unprocessable,
)

DEATH_INDEX = "uq_claims_death"
INCIDENT_INDEX = "uq_claims_incident"
COVERED_CHECK = "ck_claims_covered"
DOCUMENTS_CHECK = "ck_claims_documents_received"


def claim_not_found() -> AppError:
    return NotFound("No such claim", code="claim_not_found")


def duplicate_death() -> AppError:
    return Conflict(
        "A death claim for this officer already exists (JKM or JKK death): a death is claimed once",
        code="duplicate_claim",
        duplicate_of="death",
    )


def duplicate_incident() -> AppError:
    return Conflict(
        "A claim for this incident (same officer, date, program and incident type) exists",
        code="duplicate_claim",
        duplicate_of="incident",
    )


def not_covered(reason: str, detail: str) -> AppError:
    return Unprocessable(detail, code="not_covered", reason=reason)


def documents_missing(missing: Sequence[str]) -> AppError:
    return InvalidState(
        f"Required documents are not yet received: {', '.join(missing)}",
        code="documents_missing",
        missing=list(missing),
    )


# Filing translates these itself; the app translates them for any other path that hits them.
CONSTRAINT_ERRORS: ConstraintErrors = {
    DEATH_INDEX: duplicate_death(),
    INCIDENT_INDEX: duplicate_incident(),
}
