"""Shapes of the staff API."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.fields import Text
from shared.routing import Page

Role = Literal["admin", "operator", "sales", "viewer"]
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9_.@-]{1,63}$"


class StaffLogin(BaseModel):
    """Console sign-in."""

    username: Text = Field(min_length=1, max_length=64)
    password: Text = Field(min_length=1, max_length=256)

    @field_validator("username")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()


class StaffCreate(BaseModel):
    """A new staff account."""

    username: Text = Field(pattern=USERNAME_PATTERN)
    password: Text = Field(min_length=8, max_length=256)
    role: Role
    display_name: Text | None = Field(None, max_length=100)

    @field_validator("username", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class StaffRoleUpdate(BaseModel):
    """A new role for a staff account."""

    role: Role


class StaffRead(BaseModel):
    """A staff account as the console shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: Text
    display_name: Text | None
    role: Role
    disabled: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime


StaffPage = Page[StaffRead]


class StaffSessionRead(BaseModel):
    """A staff token and who it belongs to."""

    token: Text
    expires_in: int
    staff: StaffRead
