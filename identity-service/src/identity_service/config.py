"""identity-service settings (prefix ``IDENTITY_``)."""

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class IdentitySettings(ServiceSettings):
    """Settings of the identity service."""

    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore", frozen=True)

    service_name: str = "identity"
    port: int = 8101

    # Mini-program sessions: the access token is a member JWT (shared.auth
    # MEMBER_TTL); the refresh token is opaque and rotates on every use.
    refresh_token_ttl_days: int = Field(30, ge=1)

    # WeChat access tokens are refreshed this long before they expire, so a
    # caller never receives one that dies in its hands.
    token_refresh_margin_seconds: int = Field(300, ge=0)
    # "token" (cgi-bin/token) or "stable" (cgi-bin/stable_token); either way
    # this service is the only caller.
    token_endpoint: Literal["token", "stable"] = "token"  # noqa: S105 (an endpoint name)
    # More apps of the same developer entity (appid → secret) whose tokens
    # identity owns besides the mini-program and the service account.
    extra_app_secrets: dict[str, SecretStr] = Field(default_factory=dict)

    # Calls to WeChat: attempts on "system busy" / unreachable, and the pause
    # between them (doubled each time).
    wechat_attempts: int = Field(3, ge=1, le=10)
    wechat_retry_delay: float = Field(0.2, ge=0)
    wechat_timeout_seconds: float = Field(5.0, gt=0)
    wechat_max_connections: int = Field(100, ge=1)
    # Retry-After sent with 429 when WeChat rate-limits a user (45011: about
    # 100 logins per minute per user).
    wechat_rate_limit_retry_after: int = Field(60, ge=1)

    # Staff login lockout.
    staff_max_failed_logins: int = Field(5, ge=1)
    staff_lockout_seconds: int = Field(900, ge=1)
    staff_min_password_length: int = Field(10, ge=8)
    # Staff roles that see members' phone numbers in full (others see them masked).
    staff_phone_roles: list[str] = Field(default_factory=lambda: ["admin"])
