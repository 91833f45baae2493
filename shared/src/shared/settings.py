"""Settings shared by every process of Qunyun.

The names in the architecture's configuration contract (``DATABASE_URL``,
``KAFKA_BOOTSTRAP_SERVERS``, ``QUNYUN_*``) are read without any prefix; each
service adds its own settings under its own prefix (``IDENTITY_``, ...).

Local defaults work for ``make run``: the launcher writes generated values
(database socket, secret key, pay keys) to ``.data/local.env``, which is read
as a dotenv file when present. Real environment variables always win.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development values shared with the WeChat simulator. They only ever sign
# traffic between local processes; production must override all of them.
DEV_MP_APPID = "wx1234567890abcdef"
DEV_MP_SECRET = "devmpsecret0000000000000000000000"
DEV_MP_TOKEN = "qunyunmptoken"
DEV_MP_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
DEV_OA_APPID = "wxfedcba0987654321"
DEV_OA_SECRET = "devoasecret0000000000000000000000"
DEV_OA_TOKEN = "qunyunoatoken"
DEV_OA_AES_KEY = "GFEDCBA9876543210zyxwvutsrqponmlkjihgfedcba"
DEV_OA_ORIGINAL_ID = "gh_qunyundev0001"
DEV_PAY_MCHID = "1900000109"
DEV_SECRET_KEY = "development-only-secret-key-change-me"

PLACEHOLDER_SECRETS = frozenset({DEV_SECRET_KEY, "", "changeme", "secret"})

Environment = Literal["development", "test", "production"]

SERVICE_PORTS: dict[str, int] = {
    "gateway": 8000,
    "identity": 8101,
    "campaign": 8102,
    "tagging": 8103,
    "messaging": 8104,
    "metrics": 8105,
    "simulator": 8900,
}


def default_env_file() -> Path:
    """The dotenv file the local launcher writes generated values to."""
    explicit = os.environ.get("QUNYUN_ENV_FILE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("QUNYUN_DATA_DIR", ".data")) / "local.env"


def _alias(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class QunyunSettings(BaseSettings):
    """The contract variables every process understands."""

    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", populate_by_name=True, frozen=True
    )

    environment: Environment = Field(
        "development", validation_alias=_alias("QUNYUN_ENV", "environment")
    )
    database_url: str | None = Field(None, validation_alias=_alias("DATABASE_URL", "database_url"))
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=_alias("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"),
    )
    secret_key: SecretStr = Field(
        SecretStr(DEV_SECRET_KEY), validation_alias=_alias("QUNYUN_SECRET_KEY", "secret_key")
    )
    secret_key_previous: SecretStr | None = Field(
        None, validation_alias=_alias("QUNYUN_SECRET_KEY_PREVIOUS", "secret_key_previous")
    )

    wechat_api_base: str = Field(
        "http://127.0.0.1:8900", validation_alias=_alias("QUNYUN_WECHAT_API_BASE", "wechat_api_base")
    )
    wechatpay_api_base: str = Field(
        "http://127.0.0.1:8900",
        validation_alias=_alias("QUNYUN_WECHATPAY_API_BASE", "wechatpay_api_base"),
    )
    gateway_url: str = Field(
        "http://127.0.0.1:8000", validation_alias=_alias("QUNYUN_GATEWAY_URL", "gateway_url")
    )

    mp_appid: str = Field(DEV_MP_APPID, validation_alias=_alias("QUNYUN_MP_APPID", "mp_appid"))
    mp_secret: SecretStr = Field(
        SecretStr(DEV_MP_SECRET), validation_alias=_alias("QUNYUN_MP_SECRET", "mp_secret")
    )
    mp_token: SecretStr = Field(
        SecretStr(DEV_MP_TOKEN), validation_alias=_alias("QUNYUN_MP_TOKEN", "mp_token")
    )
    mp_aes_key: SecretStr = Field(
        SecretStr(DEV_MP_AES_KEY), validation_alias=_alias("QUNYUN_MP_AES_KEY", "mp_aes_key")
    )
    oa_appid: str = Field(DEV_OA_APPID, validation_alias=_alias("QUNYUN_OA_APPID", "oa_appid"))
    oa_secret: SecretStr = Field(
        SecretStr(DEV_OA_SECRET), validation_alias=_alias("QUNYUN_OA_SECRET", "oa_secret")
    )
    oa_token: SecretStr = Field(
        SecretStr(DEV_OA_TOKEN), validation_alias=_alias("QUNYUN_OA_TOKEN", "oa_token")
    )
    oa_aes_key: SecretStr = Field(
        SecretStr(DEV_OA_AES_KEY), validation_alias=_alias("QUNYUN_OA_AES_KEY", "oa_aes_key")
    )
    oa_original_id: str = Field(
        DEV_OA_ORIGINAL_ID, validation_alias=_alias("QUNYUN_OA_ORIGINAL_ID", "oa_original_id")
    )

    pay_mchid: str = Field(DEV_PAY_MCHID, validation_alias=_alias("QUNYUN_PAY_MCHID", "pay_mchid"))
    pay_apiv3_key: SecretStr | None = Field(
        None, validation_alias=_alias("QUNYUN_PAY_APIV3_KEY", "pay_apiv3_key")
    )
    pay_mch_serial: str | None = Field(
        None, validation_alias=_alias("QUNYUN_PAY_MCH_SERIAL", "pay_mch_serial")
    )
    pay_mch_key_file: Path | None = Field(
        None, validation_alias=_alias("QUNYUN_PAY_MCH_KEY_FILE", "pay_mch_key_file")
    )
    pay_platform_cert_file: Path | None = Field(
        None, validation_alias=_alias("QUNYUN_PAY_PLATFORM_CERT_FILE", "pay_platform_cert_file")
    )
    pay_platform_public_key_file: Path | None = Field(
        None,
        validation_alias=_alias(
            "QUNYUN_PAY_PLATFORM_PUBLIC_KEY_FILE", "pay_platform_public_key_file"
        ),
    )
    pay_platform_key_id: str | None = Field(
        None, validation_alias=_alias("QUNYUN_PAY_PLATFORM_KEY_ID", "pay_platform_key_id")
    )

    admin_username: str = Field(
        "admin", validation_alias=_alias("QUNYUN_ADMIN_USERNAME", "admin_username")
    )
    admin_password: SecretStr | None = Field(
        None, validation_alias=_alias("QUNYUN_ADMIN_PASSWORD", "admin_password")
    )

    log_level: str = Field("INFO", validation_alias=_alias("QUNYUN_LOG_LEVEL", "log_level"))
    log_json: bool = Field(True, validation_alias=_alias("QUNYUN_LOG_JSON", "log_json"))
    topic_partitions: int = Field(
        12, ge=1, validation_alias=_alias("QUNYUN_TOPIC_PARTITIONS", "topic_partitions")
    )
    topic_replication: int = Field(
        1, ge=1, validation_alias=_alias("QUNYUN_TOPIC_REPLICATION", "topic_replication")
    )
    create_topics: bool = Field(
        True, validation_alias=_alias("QUNYUN_CREATE_TOPICS", "create_topics")
    )
    # Prefix for topic and consumer-group names, to isolate several
    # environments (or test runs) on one cluster. Empty in normal use.
    kafka_namespace: str = Field(
        "", validation_alias=_alias("QUNYUN_KAFKA_NAMESPACE", "kafka_namespace")
    )
    # The embedded Tansu broker rejects InitProducerId, so the idempotent
    # producer is opt-in; consumers dedupe on event id either way.
    kafka_idempotent_producer: bool = Field(
        False, validation_alias=_alias("QUNYUN_KAFKA_IDEMPOTENT", "kafka_idempotent_producer")
    )

    # How long published outbox rows stay as the service's event log (GET /internal/events).
    event_log_retention_days: int = Field(
        400, ge=1, le=3650, validation_alias=_alias("QUNYUN_EVENT_LOG_RETENTION_DAYS", "event_log_retention_days")
    )
    # One moved clock shared by every process of a test system (shared.clock);
    # refused in production.
    test_clock_file: str | None = Field(
        None, validation_alias=_alias("QUNYUN_TEST_CLOCK_FILE", "test_clock_file")
    )

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> QunyunSettings:
        if self.environment == "production" and self.test_clock_file:
            raise ValueError("QUNYUN_TEST_CLOCK_FILE moves time: it is refused in production")
        if self.environment == "production":
            if self.secret_key.get_secret_value() in PLACEHOLDER_SECRETS:
                raise ValueError("QUNYUN_SECRET_KEY must be set to a real secret in production")
            if len(self.secret_key.get_secret_value()) < 32:
                raise ValueError("QUNYUN_SECRET_KEY must be at least 32 characters in production")
            dev_values = {
                DEV_MP_SECRET: "QUNYUN_MP_SECRET",
                DEV_OA_SECRET: "QUNYUN_OA_SECRET",
                DEV_MP_AES_KEY: "QUNYUN_MP_AES_KEY",
                DEV_OA_AES_KEY: "QUNYUN_OA_AES_KEY",
            }
            for field in (self.mp_secret, self.oa_secret, self.mp_aes_key, self.oa_aes_key):
                name = dev_values.get(field.get_secret_value())
                if name:
                    raise ValueError(f"{name} still has its development value")
        return self

    def topic(self, name: str) -> str:
        """The physical topic name of logical topic ``name``."""
        return f"{self.kafka_namespace}{name}"

    def verification_keys(self) -> list[bytes]:
        """Current key first, then the previous one (accepted during rotation)."""
        keys = [self.secret_key.get_secret_value().encode()]
        if self.secret_key_previous is not None:
            keys.append(self.secret_key_previous.get_secret_value().encode())
        return keys


class ServiceSettings(QunyunSettings):
    """Base for one service's settings; subclasses set ``service_name`` and a prefix."""

    service_name: str = "service"
    host: str = "127.0.0.1"
    port: int = 0
    # Consumers and the outbox relay run inside the app process by default;
    # set to false when a separate `worker` process runs them.
    run_worker: bool = True
    # uvicorn worker processes sharing the port (one per core on a single host;
    # on Kubernetes scale replicas instead and keep 1).
    workers: int = Field(default=1, ge=1, le=64)
    db_pool_size: int = 10
    db_max_overflow: int = 20
    service_urls: dict[str, str] = Field(default_factory=dict)
    # Overrides the database name on DATABASE_URL (default qunyun_<service>).
    database_name: str | None = None

    def own_database_url(self) -> str:
        """This service's database: ``<SERVICE>_DATABASE_URL`` or its own DB on DATABASE_URL."""
        explicit = os.environ.get(f"{self.service_name.upper()}_DATABASE_URL")
        if explicit:
            return to_async_url(explicit)
        if not self.database_url:
            raise RuntimeError(
                "DATABASE_URL is not set: run through `make run`, or point it at a PostgreSQL server"
            )
        name = self.database_name or f"qunyun_{self.service_name}"
        return to_async_url(with_database(self.database_url, name))

    def url_of(self, service: str) -> str:
        """Base URL of another service (override with <PREFIX>SERVICE_URLS)."""
        if service in self.service_urls:
            return self.service_urls[service].rstrip("/")
        env = os.environ.get(f"QUNYUN_{service.upper()}_URL")
        if env:
            return env.rstrip("/")
        return f"http://127.0.0.1:{SERVICE_PORTS[service]}"


def with_database(url: str, database: str) -> str:
    """Return ``url`` pointing at ``database`` on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def to_async_url(url: str) -> str:
    """Normalise a PostgreSQL URL for SQLAlchemy's asyncpg dialect."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a postgresql:// URL")


def to_plain_url(url: str) -> str:
    """A libpq/asyncpg style URL (no SQLAlchemy driver suffix)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


SettingsT = TypeVar("SettingsT", bound=QunyunSettings)


def load_settings(cls: type[SettingsT]) -> SettingsT:
    """Build settings from the environment plus the local dotenv file, failing fast."""
    env_file = default_env_file()
    return cls(_env_file=env_file if env_file.exists() else None)
