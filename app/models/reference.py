"""Reference data: regions, officer roles, elections, age limits and benefit schedules."""

from datetime import date
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Region(Base):
    """A Kepmendagri 2025 region; the code's depth fixes the level and the parent (checked)."""

    __tablename__ = "regions"
    __table_args__ = (
        Index("ix_regions_parent_code_code", "parent_code", "code"),
        Index("ix_regions_level_code", "level", "code"),
        # Name searches (`?q=`), by trigram.
        Index(
            "ix_regions_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
    )

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text)  # province, regency, district, village
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))  # null: province


class Role(Base):
    """An ad-hoc officer role with its default age limits on voting day (min_age >= 17)."""

    __tablename__ = "roles"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    body: Mapped[str] = mapped_column(Text)  # kpu, bawaslu, any
    level: Mapped[str] = mapped_column(Text)  # kecamatan, desa, tps, any
    name: Mapped[str] = mapped_column(Text)
    min_age: Mapped[int] = mapped_column(Integer)
    max_age: Mapped[int | None] = mapped_column(Integer)  # null: no maximum


class RoleLabel(Base):
    """A JABATAN word for a role, as the roster parser reads it (see migration 0009)."""

    __tablename__ = "role_labels"
    __table_args__ = (
        UniqueConstraint("label", "role_code"),
        ForeignKeyConstraint(
            ["read_as", "role_code"],
            ["role_labels.label", "role_labels.role_code"],
            name="fk_role_labels_read_as_role_labels",
        ),
    )

    label: Mapped[str] = mapped_column(Text, primary_key=True)  # lower-case words
    role_code: Mapped[str] = mapped_column(ForeignKey("roles.code"))
    position: Mapped[str | None] = mapped_column(Text)  # the position it implies
    read_as: Mapped[str | None] = mapped_column(Text)  # a longer name of the label read_as


class Election(Base):
    __tablename__ = "elections"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    voting_day: Mapped[date] = mapped_column(Date)


class RoleAgeLimit(Base):
    """An election's own age limits for a role, overriding the role's defaults."""

    __tablename__ = "role_age_limits"

    election_code: Mapped[str] = mapped_column(ForeignKey("elections.code"), primary_key=True)
    role_code: Mapped[str] = mapped_column(ForeignKey("roles.code"), primary_key=True)
    min_age: Mapped[int] = mapped_column(Integer)
    max_age: Mapped[int | None] = mapped_column(Integer)


class BenefitSchedule(Base):
    """One benefit line of a program, as a regulation set it, for the dates it was in force."""

    __tablename__ = "benefit_schedules"

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    program: Mapped[str] = mapped_column(Text)  # JKK, JKM
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    # fixed | wage_multiple | wage_percent_monthly | as_claimed | entitlement
    calculation: Mapped[str] = mapped_column(Text)
    # the JKK outcome (or death for JKM) the line belongs to; "any" for cost-based lines
    applies_to: Mapped[str] = mapped_column(Text)
    amount: Mapped[int | None] = mapped_column(BigInteger)
    multiplier: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))
    minimum: Mapped[int | None] = mapped_column(BigInteger)
    maximum: Mapped[int | None] = mapped_column(BigInteger)
    legal_basis: Mapped[str] = mapped_column(Text)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
