"""Every `code` a problem+json answer can carry: the enum of `Problem.code` in the OpenAPI
document, so that a client can switch on it. A code raised anywhere in app/ must be listed here:
tests/contract/test_problem_codes.py reads the source and fails on one that is missing."""

# The general ones, by status (core/errors.py), then each domain's, in the order of the docs.
GENERAL = (
    "bad_request",
    "unauthorized",
    "key_revoked",
    "forbidden",
    "missing_scope",
    "not_found",
    "method_not_allowed",
    "not_acceptable",
    "conflict",
    "invalid_state",
    "duplicate",
    "overlap",
    "idempotency_in_flight",
    "idempotency_key_reused",
    "precondition_failed",
    "payload_too_large",
    "unsupported_media_type",
    "unprocessable",
    "validation_error",
    "invalid_cursor",
    "invalid_text",
    "invalid_value",
    "constraint_violated",
    "reference_not_found",
    "precondition_required",
    "rate_limited",
    "internal_error",
    "database_unavailable",
    "http_error",
)
ORGANIZATIONS = (
    "organization_exists",
    "organization_not_found",
    "scope_not_allowed",
    "api_key_not_found",
)
REFERENCE = (
    "invalid_region_code",
    "region_not_found",
    "role_not_found",
    "election_not_found",
    "election_exists",
    "operator_only",
)
AGREEMENTS = (
    "agreement_not_found",
    "agreement_number_exists",
    "agreement_not_editable",
    "agreement_not_open",
    "agreement_not_signed",
    "agreement_has_no_cohorts",
    "agreement_not_active",
    "invalid_transition",
    "not_bpjs_branch",
    "ended_on_invalid",
    "cohort_not_found",
    "cohort_overlaps",
    "cohort_period_invalid",
    "cohort_period_below_registrations",
    "cohort_outside_election_window",
    "rate_program_not_covered",
    "region_level_invalid",
    "role_wrong_body",
)
ROSTERS = (
    "not_counterpart",
    "invalid_roster_options",
    "roster_empty",
    "roster_header_not_found",
    "roster_sheet_not_found",
    "roster_malformed",
    "roster_rejected",
    "roster_conflict",
    "roster_batch_not_found",
)
REGISTRATIONS = (
    "invalid_nik",
    "registration_not_found",
    "not_agreement_party",
    "not_agreement_branch",
    "not_held",
    "termination_date_invalid",
    "period_invalid",
    "transfer_conflict",
    "invalid_kpj",
    "kpj_taken",
    "too_many_items",
)
COVERAGE = ("niks_or_items", "too_many_niks", "operators_only")
CLAIMS = (
    "claim_not_found",
    "duplicate_claim",
    "not_covered",
    "use_jkk",
    "use_jkm",
    "officer_identifier",
    "claimant_nik_mismatch",
    "claimant_relation_invalid",
    "children_count_not_applicable",
    "costs_not_for_jkm",
    "outcome_not_for_jkm",
    "outcome_required",
    "incident_at_offset",
    "incident_in_future",
    "reported_before_incident",
    "reported_in_future",
    "benefit_schedule_missing",
    "benefit_schedule_unusable",
    "invalid_range",
    "not_reviewer",
    "note_required",
    "documents_missing",
    "document_kind_unknown",
    "claim_closed",
    "paid_on_invalid",
    "paid_on_in_future",
    "payment_details_required",
    "payment_details_not_allowed",
)
CONTRIBUTIONS = (
    "invalid_month_range",
    "payment_not_allowed",
    "duplicate_month",
    "month_outside_agreement",
    "payment_reference_exists",
)

PROBLEM_CODES: tuple[str, ...] = tuple(
    dict.fromkeys(
        GENERAL
        + ORGANIZATIONS
        + REFERENCE
        + AGREEMENTS
        + ROSTERS
        + REGISTRATIONS
        + COVERAGE
        + CLAIMS
        + CONTRIBUTIONS
    )
)
