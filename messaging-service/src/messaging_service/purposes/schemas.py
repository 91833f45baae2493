"""Shapes of the purposes API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.fields import BIGINT_MAX, Text

ChannelKind = Literal["subscribe", "template", "custom"]
MessageClass = Literal["transactional", "marketing"]
PurposeName = Annotated[Text, Field(min_length=1, max_length=80, pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")]
FieldKey = Annotated[Text, Field(min_length=1, max_length=40)]
Mapping = Annotated[Text, Field(min_length=1, max_length=200)]
# Integers within 64 bits: the request's digest and the stored JSON refuse larger ones (a 422, never a 500).
DataValue = Annotated[Text, Field(max_length=600)] | Annotated[int, Field(ge=-BIGINT_MAX - 1, le=BIGINT_MAX)] | float
# What a send carries: named values the channel mappings use as ``{name}``.
PurposeData = Annotated[dict[Annotated[Text, Field(min_length=1, max_length=64)], DataValue], Field(max_length=40)]


class ChannelConfig(BaseModel):
    """One channel of a purpose: its template and a mapping from the purpose's data to the fields."""

    channel: ChannelKind
    template_id: Annotated[Text, Field(min_length=1, max_length=128)] | None = None
    # subscribe: the mini-program page; template: the mini-program page a tap opens.
    page: Annotated[Text, Field(max_length=256)] | None = None
    url: Annotated[Text, Field(max_length=512)] | None = None
    # template field key → text with ``{name}`` placeholders from the data
    fields: dict[FieldKey, Mapping] = Field(default_factory=dict, max_length=20)
    # custom: the text of the customer-service message
    text: Annotated[Text, Field(min_length=1, max_length=600)] | None = None


class PurposeCreate(BaseModel):
    """A new purpose."""

    model_config = ConfigDict(populate_by_name=True)

    name: PurposeName
    description: Annotated[Text, Field(max_length=200)] = ""
    message_class: MessageClass = Field(alias="class")
    channels: list[ChannelConfig] = Field(min_length=1, max_length=3)
    daily_cap: Annotated[int, Field(ge=0, le=100)] | None = None
    max_staleness_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] | None = None
    enabled: bool = True


class PurposeUpdate(BaseModel):
    """A purpose replaced as a whole (PUT); the name stays."""

    model_config = ConfigDict(populate_by_name=True)

    description: Annotated[Text, Field(max_length=200)] = ""
    message_class: MessageClass = Field(alias="class")
    channels: list[ChannelConfig] = Field(min_length=1, max_length=3)
    daily_cap: Annotated[int, Field(ge=0, le=100)] | None = None
    max_staleness_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] | None = None
    enabled: bool = True


class PurposeRead(BaseModel):
    """A purpose as staff see it."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: int
    name: str
    description: str
    message_class: MessageClass = Field(serialization_alias="class")
    channels: list[ChannelConfig]
    daily_cap: int | None
    max_staleness_minutes: int | None
    enabled: bool
    updated_at: datetime


class PurposeList(BaseModel):
    """Every purpose."""

    items: list[PurposeRead]
