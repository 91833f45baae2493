"""Shapes of the internal access-token API."""

from datetime import datetime

from pydantic import BaseModel, Field

from shared.fields import Text


class AccessTokenRead(BaseModel):
    """A usable access token of one app and when it stops working."""

    access_token: Text
    expires_at: datetime


class TokenInvalidate(BaseModel):
    """The token a caller saw rejected (40001/40014/42001)."""

    access_token: Text = Field(min_length=1, max_length=1024)
