"""Shapes of the channel API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.fields import Id, Text

# A code is both the QR scene_str (1–64) and the mini-program scene (≤ 32 visible characters).
CODE_PATTERN = r"^[0-9A-Za-z_\-]{1,32}$"


class ChannelCreate(BaseModel):
    """A new channel; its codes are created at WeChat right away."""

    name: Text = Field(min_length=1, max_length=100)
    code: Text | None = Field(None, pattern=CODE_PATTERN, description="stable scene; generated when absent")
    qr_kind: Literal["permanent", "temporary"] = "permanent"
    expire_seconds: int | None = Field(
        None, ge=60, le=2_592_000, description="temporary codes only (default and maximum 30 days)"
    )
    mp_page: Text = Field("", max_length=128, description="mini-program page the code opens (no leading /)")

    @model_validator(mode="after")
    def _consistent(self) -> ChannelCreate:
        if self.qr_kind == "permanent" and self.expire_seconds is not None:
            raise ValueError("永久二维码不设有效期")
        if self.mp_page.startswith("/"):
            raise ValueError("小程序页面路径不能以 / 开头")
        return self


class ChannelRead(BaseModel):
    """A channel and its codes."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: Text
    name: Text
    qr_kind: Text
    qr_ticket: Text | None
    qr_url: Text | None
    qr_image_url: Text | None = None
    qr_expires_at: datetime | None = Field(
        description="until when the QR code is live (temporary codes; renewed with a new ticket before then)"
    )
    qr_expired: bool = Field(
        False, description="a temporary code that is past its expiry (its renewal failed): scans no longer work"
    )
    mp_page: Text
    created_at: datetime


class ChannelStats(BaseModel):
    """What a channel brought: raw touches, first-touch members, registrations and payments."""

    channel_id: Id
    code: Text
    name: Text
    scans: int = Field(description="QR scans by followers (SCAN events)")
    follows: int = Field(description="follows from the QR code (subscribe with this scene)")
    launches: int = Field(description="registrations that carried this mini-program scene")
    members: int = Field(description="members whose first touch was this channel")
    registrations: int = Field(description="registrations attributed to this channel")
    payments: int = Field(description="paid registrations attributed to this channel")
    paid_fen: int
