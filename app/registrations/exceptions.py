"""The registrations domain's errors, with the constraints of the registrations table."""

from app.core.errors import AppError, Conflict, ConstraintErrors, NotFound, Unprocessable

# One NIK has at most one covering registration on a day (DESIGN rule 1).
EXCLUSION_CONSTRAINT = "ex_registrations_nik_coverage"
# A KPJ number belongs to one person.
KPJ_CONSTRAINT = "ex_registrations_kpj_person"


def registration_not_found() -> AppError:
    return NotFound("No such registration", code="registration_not_found")


def kpj_taken() -> AppError:
    return Conflict("This KPJ number belongs to another NIK", code="kpj_taken")


def transfer_conflict(detail: str) -> AppError:
    return Conflict(detail, code="transfer_conflict")


# The service checks these first; the app translates them for any other path that writes such
# a row.
CONSTRAINT_ERRORS: ConstraintErrors = {
    "ck_registrations_ended_on": Unprocessable(
        "A registration ends at the earliest the day before its coverage starts (it then never "
        "covered a day)",
        code="termination_date_invalid",
    ),
    "ck_registrations_period": Unprocessable(
        "coverage_end is before coverage_start", code="period_invalid"
    ),
}
