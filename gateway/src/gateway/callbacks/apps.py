"""The two WeChat apps whose pushes the gateway accepts, from settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateway.config import GatewaySettings
from shared.wechat.callback import CallbackCrypto

PushFormat = Literal["xml", "json", "auto"]


@dataclass(frozen=True)
class PushApp:
    """One app's push settings (service account or mini-program)."""

    kind: Literal["oa", "mp"]
    appid: str
    token: str
    crypto: CallbackCrypto
    data_format: PushFormat
    account_id: str  # what our replies carry as FromUserName


def push_apps(settings: GatewaySettings) -> dict[tuple[str, str], PushApp]:
    """Apps by (kind, appid)."""
    oa_token = settings.oa_token.get_secret_value()
    mp_token = settings.mp_token.get_secret_value()
    apps = [
        PushApp("oa", settings.oa_appid, oa_token,
                CallbackCrypto(oa_token, settings.oa_aes_key.get_secret_value(), settings.oa_appid),
                "xml", settings.oa_original_id),
        PushApp("mp", settings.mp_appid, mp_token,
                CallbackCrypto(mp_token, settings.mp_aes_key.get_secret_value(), settings.mp_appid),
                settings.mp_push_format, settings.mp_appid),
    ]
    return {(app.kind, app.appid): app for app in apps}
