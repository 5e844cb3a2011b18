"""Every table of the service, on one Base."""

from app.models.agreement import Agreement, AgreementRate, Cohort
from app.models.audit import AuditEntry
from app.models.base import Base
from app.models.claim import Claim, ClaimBenefit, ClaimDocument, ClaimEvent
from app.models.console import ConsoleSession
from app.models.contribution import ContributionAllocation, ContributionPayment
from app.models.coverage import AccessLogEntry
from app.models.event import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.models.idempotency import IdempotencyRecord
from app.models.organization import ApiKey, Organization, OrganizationKind
from app.models.ratelimit import RateLimitWindow
from app.models.reference import (
    BenefitSchedule,
    Election,
    Region,
    Role,
    RoleAgeLimit,
    RoleLabel,
)
from app.models.registration import (
    COVERING_SQL,
    COVERING_STATUSES,
    Registration,
    RegistrationStatus,
    RosterBatch,
    RosterBatchRow,
)

__all__ = [
    "COVERING_SQL",
    "COVERING_STATUSES",
    "AccessLogEntry",
    "Agreement",
    "AgreementRate",
    "ApiKey",
    "AuditEntry",
    "Base",
    "BenefitSchedule",
    "Claim",
    "ClaimBenefit",
    "ClaimDocument",
    "ClaimEvent",
    "Cohort",
    "ConsoleSession",
    "ContributionAllocation",
    "ContributionPayment",
    "Election",
    "Event",
    "IdempotencyRecord",
    "Organization",
    "OrganizationKind",
    "RateLimitWindow",
    "Region",
    "Registration",
    "RegistrationStatus",
    "Role",
    "RoleAgeLimit",
    "RoleLabel",
    "RosterBatch",
    "RosterBatchRow",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
