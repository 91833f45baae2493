"""The gateway in-process on a migrated database, with helpers to build real pushes."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from gateway.config import GatewaySettings
from gateway.main import create_app
from qunyun_local.devkeys import ensure_dev_pay_keys
from shared.events.outbox import OutboxMessage
from shared.settings import DEV_MP_APPID, DEV_OA_APPID
from shared.testing.wechat import query_signature


@dataclass
class Gateway:
    """A running gateway and what tests need to talk to it like WeChat does."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: GatewaySettings
    pay_env: dict[str, str]

    @property
    def oa_url(self) -> str:
        return f"/wechat/oa/{DEV_OA_APPID}"

    @property
    def mp_url(self) -> str:
        return f"/wechat/mp/{DEV_MP_APPID}"

    def signed_query(self, token: str, *, timestamp: int | None = None, **extra: str) -> dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        nonce = uuid.uuid4().hex[:10]
        return {"signature": query_signature(token, ts, nonce), "timestamp": ts, "nonce": nonce, **extra}

    async def outbox(self, event_type: str | None = None) -> list[OutboxMessage]:
        async with self.app.state.runtime.session_factory() as session:
            stmt = select(OutboxMessage).order_by(OutboxMessage.id)
            if event_type:
                stmt = stmt.where(OutboxMessage.type == event_type)
            return list(await session.scalars(stmt))


@pytest.fixture
def gateway_factory(migrated_db, service_settings, running_app, infra) -> Callable[..., Any]:
    """``async with gateway_factory(**overrides) as gw``."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[Gateway]:
        pay_env = ensure_dev_pay_keys(Path(infra.data_dir))
        pay = {
            "pay_apiv3_key": pay_env["QUNYUN_PAY_APIV3_KEY"],
            "pay_platform_cert_file": pay_env["QUNYUN_PAY_PLATFORM_CERT_FILE"],
            "pay_platform_public_key_file": pay_env["QUNYUN_PAY_PLATFORM_PUBLIC_KEY_FILE"],
            "pay_platform_key_id": pay_env["QUNYUN_PAY_PLATFORM_KEY_ID"],
        }
        settings = service_settings(GatewaySettings, await migrated_db("gateway"), **(pay | overrides))
        app = create_app(settings)
        async with running_app(app) as client:
            yield Gateway(app=app, client=client, settings=settings, pay_env=pay_env)

    return make


@pytest.fixture
async def gateway(gateway_factory) -> AsyncIterator[Gateway]:
    """A gateway on the shared test broker."""
    async with gateway_factory() as gw:
        yield gw
