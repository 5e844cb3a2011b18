"""The agreements domain's errors that the constraints of agreements and cohorts raise."""

from sqlalchemy.exc import IntegrityError

from app.core.errors import AppError, Conflict, ConstraintErrors, translate_integrity_error


def cohort_overlaps() -> AppError:
    return Conflict(
        "A cohort of the same role in this agreement already covers part of this period",
        code="cohort_overlaps",
    )


def agreement_number_exists() -> AppError:
    return Conflict("An agreement with this number exists", code="agreement_number_exists")


CONSTRAINT_ERRORS: ConstraintErrors = {
    "ex_cohorts_role_period": cohort_overlaps(),
    "uq_agreements_number": agreement_number_exists(),
}


def translated(exc: IntegrityError) -> AppError:
    """What a refused write of an agreement or cohort means to the caller."""
    return translate_integrity_error(exc, CONSTRAINT_ERRORS)
