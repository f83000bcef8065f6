"""Typed settings, read from the environment (``SHUTTLE_*``) and nowhere else."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path
from typing import Literal

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything the service can be configured with.

    Secrets are not settings: the master key and the audit signing key are files under
    ``data_dir`` created by ``shuttle init`` with mode 0600.
    """

    model_config = SettingsConfigDict(env_prefix="SHUTTLE_", frozen=True, extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("./var")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; defaults to SQLite under data_dir. "
        "Use postgresql+asyncpg://... for PostgreSQL.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    policies_dir: Path = PROJECT_ROOT / "policies"
    web_dir: Path = PROJECT_ROOT / "web"
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    token_lifetime_hours: float = Field(default=12.0, gt=0)
    token_idle_minutes: float = Field(default=60.0, gt=0)
    claim_minutes: float = Field(
        default=30.0, gt=0, description="How long a practitioner's claim on a queue item lasts."
    )
    invitation_lifetime_days: float = Field(default=14.0, gt=0)
    reauthentication_minutes: float = Field(
        default=10.0,
        gt=0,
        description="How recent a sign-in or re-authentication must be for a sensitive action.",
    )
    sign_in_free_failures_account: int = Field(
        default=5, ge=1, description="Failed sign-ins to one account before delays begin."
    )
    sign_in_free_failures_address: int = Field(
        default=20, ge=1, description="Failed sign-ins from one address before delays begin."
    )
    sign_in_max_delay_seconds: int = Field(
        default=900, ge=1, description="The longest delay imposed after failed sign-ins."
    )
    allowed_hosts: tuple[str, ...] = Field(
        default=(),
        description="Host header values served (host or host:port; '*.example.org' for "
        "subdomains). Empty: 127.0.0.1, localhost and ::1 on any port, outside production.",
    )
    https: bool = Field(
        default=False,
        description="Served over HTTPS (directly or behind a proxy): Secure, __Host- cookies.",
    )
    exit_url: str = Field(
        default="https://www.bbc.co.uk/weather",
        description="Where 'Exit this page' goes: an ordinary site that gives nothing away.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description="json: one JSON object a line; text: plain lines; auto: text on a "
        "terminal, JSON otherwise.",
    )
    metrics_allowed_networks: tuple[IPvAnyNetwork, ...] = Field(
        default=(ip_network("127.0.0.0/8"), ip_network("::1/128")),
        description="Addresses that may read /metrics without a token (JSON list of networks).",
    )
    trusted_proxies: tuple[IPvAnyNetwork, ...] = Field(
        default=(),
        description="Reverse proxies in front of the service (JSON list of networks): from "
        "them, the caller's address is taken from X-Forwarded-For.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="A bearer token that may read /metrics from any address.",
    )
    records_pdf_inline_items: int = Field(
        default=200,
        ge=0,
        description="Released records with at most this many items (written and received) "
        "get records.pdf during the release; bigger ones get it from a background task.",
    )
    records_pdf_max_items: int = Field(
        default=200,
        ge=1,
        description="At most this many items of each kind in records.pdf (WeasyPrint takes "
        "about 40 ms and much memory per item); records.html and records.json have them all.",
    )
    sqlite_pool_size: int = Field(default=4, ge=1, le=64)
    sqlite_group_commit: bool = Field(
        default=True,
        description="Commit writes that queue up behind the SQLite writer together (one fsync).",
    )
    sqlite_on_loop: bool = Field(
        default=True,
        description="Run SQLite on the event loop's thread, only commits and BEGIN off it "
        "(shuttle/db.py's LoopSession); false: asyncio sessions over aiosqlite's thread.",
    )

    @model_validator(mode="after")
    def _hosts_named_in_production(self) -> Settings:
        if self.environment == "production" and not self.allowed_hosts:
            raise ValueError("SHUTTLE_ALLOWED_HOSTS must name the hosts served in production")
        return self

    @field_validator("data_dir", "policies_dir", "web_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        """The database URL in use: the configured one, or SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'shuttle.db'}"

    @property
    def is_sqlite(self) -> bool:
        """True when the database is the embedded SQLite default (or any SQLite URL)."""
        return self.effective_database_url.startswith("sqlite")
