"""Registrations check their references once per statement instead of once per row.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 20:00

A registration refers to its cohort (with the cohort's agreement and role), its region, its
roster batch, and for some the registration it replaced or conflicts with. As foreign keys,
every inserted row queued five trigger events, each a query of its own: measured with
bench/bench_rosters.py on 1,000,000 rows, 43 of the 52 s of database CPU of the roster insert
with them, 29 s with this. The same rules now run as one set-based query per reference over
the statement's new rows (a transition table), after INSERT and after UPDATE.

A foreign key also locks the referenced row until commit so that nobody deletes it or changes
its key meanwhile. Here that cannot happen at all: the referenced rows are never deleted and
their keys never change, and triggers refuse both (registrations, cohorts, roster batches and
regions alike). The constraint names of the old foreign keys stay the names of the refusals.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (constraint name, referenced table, (column, referenced column) pairs)
REFERENCES = (
    (
        "fk_registrations_cohort_identity",
        "cohorts",
        (("cohort_id", "id"), ("agreement_id", "agreement_id"), ("role_code", "role_code")),
    ),
    ("fk_registrations_region_code_regions", "regions", (("region_code", "code"),)),
    ("fk_registrations_batch_id_roster_batches", "roster_batches", (("batch_id", "id"),)),
    ("fk_registrations_replaces_id_registrations", "registrations", (("replaces_id", "id"),)),
    (
        "fk_registrations_conflict_registration_id_registrations",
        "registrations",
        (("conflict_registration_id", "id"),),
    ),
)

# The distinct keys first: a roster's rows share a few cohorts, batches and villages, so each
# is looked up once per statement rather than once per row.
CHECK_TEMPLATE = """
    SELECT row(k.*)::text INTO missing
    FROM (SELECT DISTINCT {columns} FROM new_rows n WHERE {given}) k
    WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {matches})
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'registrations refer to a row of {table} that does not exist: %',
            missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = '{name}',
                  TABLE = 'registrations';
    END IF;"""


def check_of(name: str, table: str, pairs: tuple[tuple[str, str], ...]) -> str:
    return CHECK_TEMPLATE.format(
        name=name,
        table=table,
        columns=", ".join(f"n.{column}" for column, _ in pairs),
        given=" AND ".join(f"n.{column} IS NOT NULL" for column, _ in pairs),
        matches=" AND ".join(f"t.{ref} = k.{column}" for column, ref in pairs),
    )


CHECK_FUNCTION = f"""
CREATE FUNCTION registrations_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing text;
BEGIN{"".join(check_of(*reference) for reference in REFERENCES)}
    RETURN NULL;
END $$
"""

# Arguments: the suffix of the constraint name, and what the message says of the rows.
REFUSE_CHANGE = """
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'rows of % %', TG_TABLE_NAME, TG_ARGV[1]
        USING ERRCODE = 'restrict_violation', CONSTRAINT = TG_TABLE_NAME || TG_ARGV[0],
              TABLE = TG_TABLE_NAME;
END $$
"""

# table -> the key columns that other tables' rows refer to
KEPT_TABLES = {
    "registrations": ("id",),
    "cohorts": ("id", "agreement_id", "role_code"),
    "roster_batches": ("id",),
    "regions": ("code",),
}

FOREIGN_KEYS = (
    (
        "fk_registrations_cohort_identity",
        "(cohort_id, agreement_id, role_code) REFERENCES cohorts (id, agreement_id, role_code)",
    ),
    ("fk_registrations_region_code_regions", "(region_code) REFERENCES regions (code)"),
    ("fk_registrations_batch_id_roster_batches", "(batch_id) REFERENCES roster_batches (id)"),
    ("fk_registrations_replaces_id_registrations", "(replaces_id) REFERENCES registrations (id)"),
    (
        "fk_registrations_conflict_registration_id_registrations",
        "(conflict_registration_id) REFERENCES registrations (id)",
    ),
)


def upgrade() -> None:
    for name, _ in FOREIGN_KEYS:
        op.execute(f"ALTER TABLE registrations DROP CONSTRAINT {name}")
    op.execute(CHECK_FUNCTION)
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER registrations_references_{event.lower()} AFTER {event} "
            "ON registrations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
            "EXECUTE FUNCTION registrations_check_references()"
        )
    op.execute(REFUSE_CHANGE)
    for table, key in KEPT_TABLES.items():
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in key)
        op.execute(
            f"CREATE TRIGGER {table}_kept BEFORE DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change('_kept', 'are never deleted')"
        )
        op.execute(
            f"CREATE TRIGGER {table}_key_fixed BEFORE UPDATE OF {', '.join(key)} ON {table} "
            f"FOR EACH ROW WHEN ({changed}) "
            "EXECUTE FUNCTION refuse_change('_key_fixed', 'never change their key')"
        )


def downgrade() -> None:
    for table in KEPT_TABLES:
        op.execute(f"DROP TRIGGER {table}_key_fixed ON {table}")
        op.execute(f"DROP TRIGGER {table}_kept ON {table}")
    op.execute("DROP FUNCTION refuse_change()")
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER registrations_references_{event} ON registrations")
    op.execute("DROP FUNCTION registrations_check_references()")
    for name, definition in FOREIGN_KEYS:
        op.execute(f"ALTER TABLE registrations ADD CONSTRAINT {name} FOREIGN KEY {definition}")
