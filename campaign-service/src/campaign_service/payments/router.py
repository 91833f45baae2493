"""Internal: the WeChat Pay platform keys this service trusts, for the gateway's notification checks.

Campaign holds the merchant key, so it is the one that downloads platform
certificates (``GET /v3/certificates``). The gateway verifies notifications
with the same keys; when a notification names a serial it does not know (a
rotation at WeChat Pay), it asks here, and an unknown serial triggers a
download (at most once a minute, see ``WeChatPayClient.refresh_certificates``).
The gateway also asks on an interval with ``refresh=true``, which downloads
first, so a rotation is known before the first notification signed with it.
"""

from __future__ import annotations

from typing import Annotated

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import APIRouter, Query
from pydantic import BaseModel

from campaign_service.deps import PayDep
from shared.auth import InternalCallerDep
from shared.fields import CLEAN_TEXT

internal_router = APIRouter(prefix="/internal/pay", include_in_schema=False)


class PlatformKey(BaseModel):
    """One trusted platform key (public; never the merchant's own key)."""

    serial: str
    public_key_pem: str


class PlatformKeys(BaseModel):
    """Every trusted platform key; empty when WeChat Pay is not configured."""

    keys: list[PlatformKey]


@internal_router.get("/platform-keys")
async def platform_keys(
    _: InternalCallerDep,
    pay: PayDep,
    serial: Annotated[str | None, Query(max_length=128), CLEAN_TEXT] = None,
    refresh: Annotated[bool, Query(description="download the certificates first (a scheduled refresh)")] = False,
) -> PlatformKeys:
    """The platform keys by serial; an unknown ``serial`` or ``refresh`` first downloads the certificates."""
    if pay is None:
        return PlatformKeys(keys=[])
    if refresh:
        await pay.refresh_certificates_unless_recent()
    elif serial is not None and serial not in pay.platform_keys:
        await pay.refresh_certificates(serial=serial)
    return PlatformKeys(
        keys=[
            PlatformKey(
                serial=name,
                public_key_pem=key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode(),
            )
            for name, key in pay.platform_keys.items()
        ]
    )
