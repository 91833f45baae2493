"""Helpers for tests that play WeChat against the gateway (no production use)."""

import hashlib
from dataclasses import dataclass

import httpx


def query_signature(token: str, timestamp: str, nonce: str) -> str:
    """WeChat's push query signature, computed independently of the code under test."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324


@dataclass
class SimulatorTokens:
    """Access tokens straight from the simulator (identity-service's job in the real system)."""

    sim: httpx.AsyncClient
    secrets: dict[str, str]

    async def current(self, appid: str) -> str:
        """A valid access token of ``appid``."""
        answer = await self.sim.get(
            "/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": appid, "secret": self.secrets[appid]},
        )
        return str(answer.json()["access_token"])

    async def invalidate(self, appid: str, token: str) -> str:
        """WeChat refused ``token``: a fresh one."""
        return await self.current(appid)
