"""Shapes of the mini-program session API."""

from pydantic import BaseModel, Field


class SessionCreate(BaseModel):
    """A ``wx.login`` code."""

    code: str = Field(min_length=1, max_length=256)


class SessionRefresh(BaseModel):
    """The refresh token from the last login or refresh."""

    refresh_token: str = Field(min_length=1, max_length=256)


class SessionRead(BaseModel):
    """A member token, its refresh token and the member it belongs to."""

    token: str
    refresh_token: str
    expires_in: int
    member_no: int
    member_no_display: str
