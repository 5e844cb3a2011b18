"""Service settings, read from the environment only."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from limits import parse as parse_rate_limit
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_ADMIN_KEY_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    environment: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL; unset starts an embedded PostgreSQL under DATA_DIR.",
    )
    admin_api_key: SecretStr | None = Field(
        default=None, description="A key with the admin scope, acting as an operator."
    )
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    sync_roster_max_rows: int = Field(default=5_000, ge=1)
    roster_parallel_min_rows: int = Field(default=100_000, ge=1)
    roster_processes: bool = Field(
        default=True,
        description="Run background rosters in processes of their own (app/core/workers.py), "
        "so that their Python does not hold up the coverage lookups; off: in the server's loop.",
    )
    roster_errors_retention_hours: int = Field(
        default=72,
        ge=1,
        le=24 * 90,
        description="How long a refused (atomic, 422) roster keeps its rejected rows' NIKs and "
        "cells for the errors file before the sweep purges them.",
    )
    log_level: str = "INFO"
    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)
    # HTTP manners: body limits, rate limits (per process: app/core/ratelimit.py), CORS, gzip.
    max_json_bytes: int = Field(default=1024 * 1024, ge=1024)
    rate_limit_per_key: str = Field(default="6000/minute", description="Requests per API key")
    rate_limit_failed_auth: str = Field(
        default="300/minute", description="Failed authentications per client address"
    )
    cors_origins: str = Field(default="", description="Comma-separated origins; empty: no CORS")
    gzip_min_bytes: int = Field(default=1024, ge=0)

    @field_validator("rate_limit_per_key", "rate_limit_failed_auth")
    @classmethod
    def parse_rate(cls, value: str) -> str:
        parse_rate_limit(value)  # "100/second", "6000 per minute": ValueError otherwise
        return value

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    console_session_hours: int = Field(
        default=8, ge=1, le=720, description="How long a console sign-in lasts, in hours."
    )
    # Webhooks (app/webhooks): which URLs endpoints may have, and how the dispatcher sends.
    webhook_url_policy: Literal["public", "loopback", "any"] | None = Field(
        default=None,
        description="public: https to public addresses only; loopback: also 127.0.0.1 and "
        "http; any: anything. Unset: public in production, any elsewhere.",
    )
    webhook_dispatcher: bool = Field(default=True, description="Run the dispatcher in the app")
    webhook_concurrency: int = Field(default=16, ge=1)
    webhook_endpoint_concurrency: int = Field(default=4, ge=1)
    webhook_connect_timeout: float = Field(default=5.0, gt=0)
    webhook_read_timeout: float = Field(default=10.0, gt=0)
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    webhook_poll_seconds: float = Field(default=5.0, gt=0)
    # Scale: how often each process sweeps interrupted roster batches; the connection pools of
    # one process (README, "Sizing the connection pools") and PgBouncer in transaction mode.
    roster_sweep_seconds: float = Field(default=60, gt=0)
    coverage_pool_size: int = Field(default=10, ge=1)
    coverage_batch_processes: int = Field(
        default=1,
        ge=0,
        description="Worker processes for the batch checks (app/coverage/batches.py) of each "
        "server process; 0: in the server's own loop.",
    )
    db_pool_timeout: float = Field(default=30, gt=0)
    db_statement_cache_size: int = Field(default=100, ge=0)
    database_read_url: str | None = Field(
        default=None, description="A streaming standby for the read-heavy paths (app/core/replica)."
    )
    read_max_lag_seconds: float = Field(default=5, ge=0)

    @model_validator(mode="after")
    def refuse_weak_admin_key(self) -> "Settings":
        key = self.admin_api_key.get_secret_value() if self.admin_api_key else None
        if self.environment == "production" and key is not None and len(key) < MIN_ADMIN_KEY_LENGTH:
            raise ValueError(f"ADMIN_API_KEY must be at least {MIN_ADMIN_KEY_LENGTH} characters")
        return self

    @model_validator(mode="after")
    def lease_outlasts_an_attempt(self) -> "Settings":
        # A lease shorter than an attempt would let another dispatcher send it meanwhile.
        attempt = self.webhook_connect_timeout + 2 * self.webhook_read_timeout
        if self.webhook_lease_seconds <= attempt:
            raise ValueError(
                "WEBHOOK_LEASE_SECONDS must exceed WEBHOOK_CONNECT_TIMEOUT + 2 x READ_TIMEOUT"
            )
        return self

    @property
    def url_policy(self) -> Literal["public", "loopback", "any"]:
        if self.webhook_url_policy is not None:
            return self.webhook_url_policy
        return "public" if self.environment == "production" else "any"


@lru_cache
def get_settings() -> Settings:
    return Settings()
