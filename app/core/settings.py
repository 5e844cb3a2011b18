"""Service settings, read from the environment only."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
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
    log_level: str = "INFO"
    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)
    # Scale: how often each process sweeps interrupted roster batches; the connection pools of
    # one process (README, "Sizing the connection pools") and PgBouncer in transaction mode.
    roster_sweep_seconds: float = Field(default=60, gt=0)
    coverage_pool_size: int = Field(default=10, ge=1)
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


@lru_cache
def get_settings() -> Settings:
    return Settings()
