"""Shapes of the staff API."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.routing import Page

Role = Literal["admin", "operator", "sales", "viewer"]
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9_.@-]{1,63}$"


class StaffLogin(BaseModel):
    """Console sign-in."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)

    @field_validator("username")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()


class StaffCreate(BaseModel):
    """A new staff account."""

    username: str = Field(pattern=USERNAME_PATTERN)
    password: str = Field(min_length=8, max_length=256)
    role: Role
    display_name: str | None = Field(None, max_length=100)

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
    username: str
    display_name: str | None
    role: Role
    disabled: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime


StaffPage = Page[StaffRead]


class StaffSessionRead(BaseModel):
    """A staff token and who it belongs to."""

    token: str
    expires_in: int
    staff: StaffRead
