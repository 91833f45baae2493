"""The WeChat apps this deployment owns (mini-program, service account, more later)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from identity_service.config import IdentitySettings
from shared.errors import NotFound

AppKind = Literal["mp", "oa", "web"]


@dataclass(frozen=True)
class WeChatApp:
    """One app of the developer entity: its kind, appid and secret."""

    kind: AppKind
    appid: str
    secret: str


class WeChatApps:
    """Lookup of our apps by appid."""

    def __init__(self, apps: list[WeChatApp]) -> None:
        self._by_appid = {app.appid: app for app in apps}
        self.mp = next(app for app in apps if app.kind == "mp")
        self.oa = next(app for app in apps if app.kind == "oa")

    @classmethod
    def from_settings(cls, settings: IdentitySettings) -> WeChatApps:
        """The mini-program, the service account and any extra apps of the settings."""
        apps = [
            WeChatApp("mp", settings.mp_appid, settings.mp_secret.get_secret_value()),
            WeChatApp("oa", settings.oa_appid, settings.oa_secret.get_secret_value()),
        ]
        apps += [
            WeChatApp("web", appid, secret.get_secret_value())
            for appid, secret in settings.extra_app_secrets.items()
        ]
        return cls(apps)

    def get(self, appid: str) -> WeChatApp | None:
        """The app with ``appid``, if it is ours."""
        return self._by_appid.get(appid)

    def require(self, appid: str) -> WeChatApp:
        """The app with ``appid``; a 404 problem when it is not ours."""
        app = self._by_appid.get(appid)
        if app is None:
            raise NotFound(f"应用 {appid} 不属于本系统。", slug="unknown-appid", title="Unknown appid")
        return app
