"""The WeChat Pay platform keys the gateway checks notifications with, learning rotated ones from campaign.

The gateway starts with the configured platform certificate / public key.
When WeChat Pay rotates its certificate, notifications arrive signed with a
serial the gateway has never seen. Campaign holds the merchant key and
downloads the platform certificates (``GET /v3/certificates``), so the gateway
asks it (``GET /internal/pay/platform-keys?serial=…``) and trusts what it
answers: no restart. Asking is rate-limited (per serial, and a few seconds
between any two asks), so forged serials cannot turn into a flood of calls.

It also asks on an interval (``GATEWAY_PAY_PLATFORM_KEYS_REFRESH_SECONDS``,
:func:`refresh_platform_keys`), with ``refresh=true`` so campaign downloads
the certificates first: WeChat Pay lists a new certificate before it signs
with it, so a rotation is known before the first notification signed with it
(and such notifications verify even while campaign is unreachable).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import MutableMapping
from contextlib import suppress
from typing import Any

import structlog
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from shared.runtime import ServiceRuntime

log = structlog.get_logger("gateway.pay")

# No serial is asked for twice within this time; no two asks come closer than MIN_GAP_SECONDS.
SERIAL_RETRY_SECONDS = 60.0
MIN_GAP_SECONDS = 2.0
MAX_REMEMBERED = 1000
# After a failed scheduled refresh, the next try comes this soon (or at the interval, if shorter).
RETRY_SECONDS = 30.0


class PlatformKeyLearner:
    """Adds the keys campaign trusts to the gateway's keys when a notification names an unknown serial."""

    def __init__(self, keys: MutableMapping[str, Any]) -> None:
        self.keys = keys
        self._asked: dict[str, float] = {}
        self._last_ask = float("-inf")
        self._lock = asyncio.Lock()

    async def learn(self, runtime: ServiceRuntime, serial: str) -> bool:
        """Whether ``serial`` is known now (after asking campaign, if allowed)."""
        if serial in self.keys:
            return True
        async with self._lock:
            if serial in self.keys:
                return True
            now = time.monotonic()
            if now - self._asked.get(serial, float("-inf")) < SERIAL_RETRY_SECONDS:
                return False
            if now - self._last_ask < MIN_GAP_SECONDS:
                return False
            if len(self._asked) >= MAX_REMEMBERED:
                self._asked.clear()
            self._asked[serial] = self._last_ask = now
            try:
                learned = await _ask(runtime, {"serial": serial})
            except Exception as exc:  # campaign unreachable or answering nonsense: refuse as before
                log.warning("pay_platform_keys_unavailable", serial=serial, error=repr(exc))
                return False
            added = sorted(set(learned) - set(self.keys))
            self.keys.update(learned)
            log.info("pay_platform_keys_learned", serial=serial, added=added)
            return serial in self.keys

    async def refresh(self, runtime: ServiceRuntime) -> list[str]:
        """Download the platform keys campaign trusts now (it downloads them first); returns the new serials.

        Keys are only added: a notification WeChat Pay retries may still be
        signed with the previous certificate. Raises when campaign cannot answer.
        """
        learned = await _ask(runtime, {"refresh": "true"})
        added = sorted(set(learned) - set(self.keys))
        self.keys.update(learned)
        log.info("pay_platform_keys_refreshed", added=added, known=len(self.keys))
        return added


async def _ask(runtime: ServiceRuntime, params: dict[str, str]) -> dict[str, Any]:
    """``GET /internal/pay/platform-keys`` on campaign: the keys by serial."""
    body = await runtime.client_for("campaign").get_json("/internal/pay/platform-keys", params=params)
    return {item["serial"]: load_pem_public_key(item["public_key_pem"].encode()) for item in body["keys"]}


async def refresh_platform_keys(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    """Background job: refresh the platform keys every ``pay_platform_keys_refresh_seconds``.

    Off when the interval is 0 or WeChat Pay is not configured here; a failed
    refresh (campaign down) is retried within :data:`RETRY_SECONDS`.
    """
    interval = float(getattr(runtime.settings, "pay_platform_keys_refresh_seconds", 0))
    learner: PlatformKeyLearner | None = runtime.extras.get("pay_key_learner")
    if interval <= 0 or learner is None or not learner.keys:
        return
    while not stop.is_set():
        wait = interval
        try:
            await learner.refresh(runtime)
        except Exception as exc:
            log.warning("pay_platform_keys_refresh_failed", error=repr(exc))
            wait = min(interval, RETRY_SECONDS)
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=wait)
