"""Shapes of the mini-program session API."""

from pydantic import BaseModel, Field

from shared.fields import MemberNo, Text


class SessionCreate(BaseModel):
    """A ``wx.login`` code."""

    code: Text = Field(min_length=1, max_length=256)


class SessionRefresh(BaseModel):
    """The refresh token from the last login or refresh."""

    refresh_token: Text = Field(min_length=1, max_length=256)


class SessionRead(BaseModel):
    """A member token, its refresh token and the member it belongs to."""

    token: Text
    refresh_token: Text
    expires_in: int
    member_no: MemberNo
    member_no_display: Text
