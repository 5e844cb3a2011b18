"""Claims: claims, their benefit lines, document checklists and transition events.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 08:50

The rules of DESIGN section 1 (6 and 9) that the data must keep are held here, not only in
the service:

- one death per officer: a partial unique index on the NIK over death claims (JKM, or JKK with
  the outcome death) that are not rejected; one claim per incident: a partial unique index on
  (nik, incident_date, program, incident_type) over claims that are not rejected;
- a claim is filed against a registration that covers the incident date, under an agreement
  whose programs include the claim's program, with the registration's agreement and NIK
  (trigger `claims_guard`, on insert);
- status moves only along submitted -> verified -> approved -> paid, or to rejected from an
  open state, and never to approved while a required document is missing (the same trigger,
  on update); every event row is one of those moves.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "('submitted', 'verified', 'approved', 'paid', 'rejected')"
INCIDENT_TYPES = "('work_accident', 'commuting_accident', 'occupational_disease', 'death')"
OUTCOMES = (
    "('treatment', 'temporary_incapacity', 'partial_disability', "
    "'total_permanent_disability', 'death')"
)
RELATIONS = "('self', 'spouse', 'child', 'parent', 'sibling')"
DOCUMENT_KINDS = (
    "('death_certificate', 'heirship_letter', 'ktp_deceased', 'ktp_heir', 'family_card', "
    "'bank_book', 'kk1', 'kk2', 'chronology', 'duty_letter', 'attendance_record', "
    "'police_report', 'medical_receipts', 'transport_receipts', 'medical_certificate')"
)
# (from, to) pairs the workflow allows; creation is (NULL, submitted).
MOVES = (
    "(('submitted', 'verified'), ('verified', 'approved'), ('approved', 'paid'), "
    "('submitted', 'rejected'), ('verified', 'rejected'), ('approved', 'rejected'))"
)

GUARD = f"""
CREATE FUNCTION claims_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'submitted' THEN
            RAISE EXCEPTION 'a claim starts as submitted'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_claims_starts_submitted';
        END IF;
        IF NOT EXISTS (
            SELECT 1 FROM registrations r JOIN agreements a ON a.id = r.agreement_id
            WHERE r.id = NEW.registration_id AND r.agreement_id = NEW.agreement_id
              AND r.nik = NEW.nik AND r.status IN ('active', 'terminated', 'replaced')
              AND r.coverage @> NEW.incident_date AND NEW.program = ANY (a.programs)
        ) THEN
            RAISE EXCEPTION 'the registration does not cover this incident'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_claims_covered';
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.registration_id, NEW.agreement_id, NEW.nik, NEW.program, NEW.incident_date)
        IS DISTINCT FROM
       (OLD.registration_id, OLD.agreement_id, OLD.nik, OLD.program, OLD.incident_date) THEN
        RAISE EXCEPTION 'the officer, program and incident date of a claim are fixed'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_claims_identity_fixed';
    END IF;
    IF NEW.status <> OLD.status THEN
        IF (OLD.status, NEW.status) NOT IN {MOVES} THEN
            RAISE EXCEPTION 'a claim cannot move from % to %', OLD.status, NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_claims_transition';
        END IF;
        IF NEW.status = 'approved' AND EXISTS (
            SELECT 1 FROM claim_documents d
            WHERE d.claim_id = NEW.id AND d.required AND d.received_at IS NULL
        ) THEN
            RAISE EXCEPTION 'a required document is missing'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_claims_documents_received';
        END IF;
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "claims",
        sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("agreement_id", sa.Uuid, sa.ForeignKey("agreements.id"), nullable=False),
        sa.Column(
            "registration_id", sa.BigInteger, sa.ForeignKey("registrations.id"), nullable=False
        ),
        sa.Column("nik", sa.BigInteger, nullable=False),
        sa.Column("program", sa.Text, nullable=False),
        sa.Column("incident_type", sa.Text, nullable=False),
        sa.Column("incident_date", sa.Date, nullable=False),
        sa.Column("incident_at", sa.Time),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place_region_code", sa.Text, sa.ForeignKey("regions.code"), nullable=False),
        sa.Column("place", sa.Text, nullable=False),
        sa.Column("chronology", sa.Text, nullable=False),
        sa.Column("on_duty", sa.Boolean, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("incapacity_months", sa.Integer),
        sa.Column("disability_percent", sa.Integer),
        sa.Column("children_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("claimant_name", sa.Text, nullable=False),
        sa.Column("claimant_nik", sa.BigInteger, nullable=False),
        sa.Column("claimant_relation", sa.Text, nullable=False),
        sa.Column("claimant_phone", sa.Text),
        sa.Column("claimant_bank_name", sa.Text, nullable=False),
        sa.Column("claimant_bank_account", sa.Text, nullable=False),
        sa.Column("medical_claimed", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("transport_claimed", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("declared_wage", sa.BigInteger, nullable=False),
        sa.Column("payable_total", sa.BigInteger, nullable=False),
        sa.Column("entitlement_total", sa.BigInteger, nullable=False),
        sa.Column("warnings", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("status", sa.Text, nullable=False, server_default="submitted"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("paid_on", sa.Date),
        sa.Column("transfer_reference", sa.Text),
        sa.Column("filed_by_key_id", sa.Uuid, sa.ForeignKey("api_keys.id")),
        sa.Column("filed_by_organization_id", sa.Uuid, sa.ForeignKey("organizations.id")),
        sa.Column(
            "is_death",
            sa.Boolean,
            sa.Computed("outcome = 'death'", persisted=True),
            nullable=False,
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("nik BETWEEN 1000000000000000 AND 9999999999999999", name="nik"),
        sa.CheckConstraint(
            "claimant_nik BETWEEN 1000000000000000 AND 9999999999999999", name="claimant_nik"
        ),
        sa.CheckConstraint("program IN ('JKK', 'JKM')", name="program"),
        sa.CheckConstraint(f"incident_type IN {INCIDENT_TYPES}", name="incident_type"),
        sa.CheckConstraint(f"outcome IN {OUTCOMES}", name="outcome"),
        # DESIGN rule 6: JKM is a death not caused by work; a work-related death is JKK.
        sa.CheckConstraint(
            "(program = 'JKM' AND incident_type = 'death' AND outcome = 'death') OR "
            "(program = 'JKK' AND incident_type <> 'death')",
            name="program_incident",
        ),
        sa.CheckConstraint(
            "(outcome = 'temporary_incapacity') = (incapacity_months IS NOT NULL)",
            name="incapacity_months",
        ),
        sa.CheckConstraint(
            "incapacity_months IS NULL OR incapacity_months BETWEEN 1 AND 120",
            name="incapacity_months_range",
        ),
        sa.CheckConstraint(
            "(outcome = 'partial_disability') = (disability_percent IS NOT NULL)",
            name="disability_percent",
        ),
        sa.CheckConstraint(
            "disability_percent IS NULL OR disability_percent BETWEEN 1 AND 100",
            name="disability_percent_range",
        ),
        sa.CheckConstraint("children_count BETWEEN 0 AND 2", name="children_count"),
        sa.CheckConstraint(f"claimant_relation IN {RELATIONS}", name="claimant_relation"),
        sa.CheckConstraint(
            "medical_claimed >= 0 AND transport_claimed >= 0", name="claimed_amounts"
        ),
        sa.CheckConstraint(
            "program = 'JKK' OR (medical_claimed = 0 AND transport_claimed = 0)",
            name="costs_only_jkk",
        ),
        sa.CheckConstraint("declared_wage > 0", name="declared_wage"),
        sa.CheckConstraint("payable_total >= 0 AND entitlement_total >= 0", name="totals"),
        sa.CheckConstraint(f"status IN {STATUSES}", name="status"),
        sa.CheckConstraint("version >= 1", name="version"),
        sa.CheckConstraint(
            "(status = 'paid') = (paid_on IS NOT NULL) "
            "AND (paid_on IS NULL) = (transfer_reference IS NULL)",
            name="paid",
        ),
        sa.CheckConstraint("length(place) BETWEEN 1 AND 500", name="place_length"),
        sa.CheckConstraint("length(chronology) BETWEEN 1 AND 10000", name="chronology_length"),
    )
    # DESIGN rule 6: one death is claimed once, whatever the program or the agreement.
    op.create_index(
        "uq_claims_death",
        "claims",
        ["nik"],
        unique=True,
        postgresql_where=sa.text("is_death AND status <> 'rejected'"),
    )
    op.create_index(
        "uq_claims_incident",
        "claims",
        ["nik", "incident_date", "program", "incident_type"],
        unique=True,
        postgresql_where=sa.text("status <> 'rejected'"),
    )
    op.create_index(
        "ix_claims_agreement_id_created_at_id", "claims", ["agreement_id", "created_at", "id"]
    )
    op.create_index("ix_claims_created_at_id", "claims", ["created_at", "id"])
    op.create_index("ix_claims_registration_id", "claims", ["registration_id"])

    op.create_table(
        "claim_benefits",
        sa.Column("claim_id", sa.Uuid, sa.ForeignKey("claims.id"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("schedule_id", sa.Integer, sa.ForeignKey("benefit_schedules.id"), nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("calculation", sa.Text, nullable=False),
        sa.Column("arithmetic", sa.Text, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("payable_now", sa.Boolean, nullable=False),
        sa.Column("legal_basis", sa.Text, nullable=False),
        sa.CheckConstraint("amount >= 0", name="amount"),
        sa.CheckConstraint("position >= 0", name="position"),
    )
    op.create_index("ix_claim_benefits_schedule_id", "claim_benefits", ["schedule_id"])

    op.create_table(
        "claim_documents",
        sa.Column("claim_id", sa.Uuid, sa.ForeignKey("claims.id"), primary_key=True),
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("required", sa.Boolean, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True)),
        sa.Column("reference", sa.Text),
        sa.Column("received_by_key_id", sa.Uuid, sa.ForeignKey("api_keys.id")),
        sa.Column("received_by_organization_id", sa.Uuid, sa.ForeignKey("organizations.id")),
        sa.CheckConstraint(f"kind IN {DOCUMENT_KINDS}", name="kind"),
        sa.CheckConstraint("(received_at IS NULL) = (reference IS NULL)", name="received"),
        sa.CheckConstraint(
            "reference IS NULL OR length(reference) BETWEEN 1 AND 200", name="reference_length"
        ),
    )

    op.create_table(
        "claim_events",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("claim_id", sa.Uuid, sa.ForeignKey("claims.id"), nullable=False),
        sa.Column("from_status", sa.Text),
        sa.Column("to_status", sa.Text, nullable=False),
        sa.Column("actor_key_id", sa.Uuid, sa.ForeignKey("api_keys.id")),
        sa.Column("actor_organization_id", sa.Uuid, sa.ForeignKey("organizations.id")),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("note", sa.Text),
        sa.CheckConstraint(
            f"(from_status IS NULL AND to_status = 'submitted') OR "
            f"(from_status IS NOT NULL AND (from_status, to_status) IN {MOVES})",
            name="move",
        ),
        sa.CheckConstraint("to_status <> 'rejected' OR note IS NOT NULL", name="rejection_note"),
        sa.CheckConstraint("note IS NULL OR length(note) BETWEEN 1 AND 2000", name="note_length"),
    )
    op.create_index("ix_claim_events_claim_id_id", "claim_events", ["claim_id", "id"])

    op.execute(GUARD)
    op.execute(
        "CREATE TRIGGER claims_guard BEFORE INSERT OR UPDATE ON claims "
        "FOR EACH ROW EXECUTE FUNCTION claims_guard()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER claims_guard ON claims")
    op.execute("DROP FUNCTION claims_guard()")
    op.drop_table("claim_events")
    op.drop_table("claim_documents")
    op.drop_table("claim_benefits")
    op.drop_table("claims")
