"""Simulator settings: the shared contract variables plus ``WECHAT_SIM_*``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import QunyunSettings

PushMode = Literal["plain", "compat", "safe"]
PushFormat = Literal["xml", "json"]


class SimulatorSettings(QunyunSettings):
    """What the simulator needs beyond the variables every Qunyun process reads."""

    model_config = SettingsConfigDict(env_prefix="WECHAT_SIM_")

    host: str = "127.0.0.1"
    port: int = 8900
    platform_key_file: Path | None = None
    mch_cert_file: Path | None = None
    # "public_key": sign with the PUB_KEY_ID_… id (new merchants); "certificate": the platform cert serial.
    pay_serial_mode: Literal["public_key", "certificate"] = "public_key"

    # WeChat waits 5 s for a push answer and makes 3 attempts in all.
    push_timeout_seconds: float = 5.0
    push_attempts: int = Field(3, ge=1)
    # Whether WeChat also retries a push answered with HTTP 5xx is unconfirmed; off by default.
    push_retry_on_5xx: bool = False
    oa_push_mode: PushMode = "safe"
    mp_push_mode: PushMode = "safe"
    mp_push_format: PushFormat = "json"
    # The mini-program's original id (gh_…), the ToUserName of its pushes.
    mp_original_id: str = "gh_qunyunmpdev01"

    # Real WeChat Pay retries at 15 s, 15 s, 30 s, 3 m, 10 m, 20 m, 30 m … up to ~24 h;
    # locally a scaled-down schedule keeps the loop short.
    pay_retry_delays: list[float] = Field(default_factory=lambda: [1.0, 1.0, 2.0, 5.0, 10.0, 30.0])
    refund_success_delay_seconds: float = 1.0
    refund_min_interval_seconds: float = 60.0

    code_ttl_seconds: int = 300
    login_rate_per_minute: int = 100
    token_ttl_seconds: int = 7200
    old_token_grace_seconds: int = 300
    token_daily_limit: int = 2000
    stable_force_refresh_daily_limit: int = 20
    stable_force_refresh_interval_seconds: int = 30

    # Templates the apps own. Subscribe templates also become known when a popup shows them.
    # An empty OA list accepts any template id, so a fresh local stack needs no setup.
    subscribe_templates: list[str] = Field(default_factory=list)
    oa_templates: list[str] = Field(default_factory=list)
