"""What campaign needs to know about a member from identity-service."""

from __future__ import annotations

from typing import Any, Protocol

from shared.errors import Conflict
from shared.http import ServiceClient


class MemberDirectory(Protocol):
    """Looks up a member's mini-program openid and opens their encryptedData."""

    async def mp_openid(self, member_no: int) -> str: ...

    async def decrypt(self, member_no: int, encrypted_data: str, iv: str) -> dict[str, Any]: ...


class IdentityDirectory:
    """``GET /internal/members/{member_no}`` and ``POST …/decrypt`` on identity-service."""

    def __init__(self, client: ServiceClient, mp_appid: str) -> None:
        self.client = client
        self.mp_appid = mp_appid

    async def mp_openid(self, member_no: int) -> str:
        """The member's openid in our mini-program."""
        member = await self.client.get_json(f"/internal/members/{member_no}")
        for entry in member.get("openids", []):
            if entry.get("app") == "mp" and entry.get("appid") == self.mp_appid:
                return str(entry["openid"])
        raise Conflict(
            "请先在小程序中登录后再支付。", slug="mp-openid-missing", title="No mini-program openid"
        )

    async def decrypt(self, member_no: int, encrypted_data: str, iv: str) -> dict[str, Any]:
        """The plaintext of the member's encryptedData (session_key never leaves identity)."""
        # Decrypting has no side effect: a retry after a lost answer is safe.
        answer = await self.client.post_json(
            f"/internal/members/{member_no}/decrypt",
            {"encrypted_data": encrypted_data, "iv": iv},
            retry=True,
        )
        return dict(answer)
