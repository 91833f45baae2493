"""Shapes of the internal access-token API."""

from datetime import datetime

from pydantic import BaseModel, Field


class AccessTokenRead(BaseModel):
    """A usable access token of one app and when it stops working."""

    access_token: str
    expires_at: datetime


class TokenInvalidate(BaseModel):
    """The token a caller saw rejected (40001/40014/42001)."""

    access_token: str = Field(min_length=1, max_length=1024)
