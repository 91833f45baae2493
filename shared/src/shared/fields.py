"""Annotated input types every service uses, so no input reaches PostgreSQL that it would refuse.

- Identifiers in paths, queries and bodies are bounded to the column that holds
  them (``BIGINT`` for every id and member number here), so a 30-digit id is a
  422, not an ``integer out of range`` from the driver.
- Text rejects NUL (PostgreSQL ``text`` cannot hold it) and unpaired surrogates
  (not encodable as UTF-8), wherever the string sits: body, path or query.
- :class:`PatchModel` is the PATCH convention: an omitted field stays unchanged,
  ``null`` is accepted only for fields the model lists as nullable.

Use them instead of bare ``int`` / ``str`` in every request shape::

    async def get_channel(channel_id: IdPath, ...)
    class TagCreate(BaseModel):
        name: Annotated[Text, Field(min_length=1, max_length=40)]
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

# PostgreSQL BIGINT.
BIGINT_MAX = 2**63 - 1
# PostgreSQL INTEGER, for counts and small numbers stored as int4.
INT_MAX = 2**31 - 1


def _check_text(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("text_nul", "Text must not contain the NUL character (U+0000).")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PydanticCustomError(
            "text_surrogate", "Text must be valid Unicode (no unpaired surrogate at position {position}).",
            {"position": exc.start},
        ) from None
    return value


# Any text a client sends that may be stored or compared in PostgreSQL.
Text = Annotated[str, AfterValidator(_check_text)]

# A database identifier (BIGINT, generated from 1).
Id = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
# A member number (BIGINT; allocated from 10001, but merged and imported numbers may be lower).
MemberNo = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
# An INTEGER column (counts, amounts in fen, days).
Int32 = Annotated[int, Field(ge=-INT_MAX - 1, le=INT_MAX)]
NonNegativeInt32 = Annotated[int, Field(ge=0, le=INT_MAX)]

# Path and query parameters: the same bounds, documented in the OpenAPI.
IdPath = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
MemberNoPath = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="Member number (学号)")]
TextPath = Annotated[str, Path(min_length=1, max_length=200), AfterValidator(_check_text)]
IdQuery = Annotated[int | None, Query(ge=1, le=BIGINT_MAX)]
MemberNoQuery = Annotated[int | None, Query(ge=1, le=BIGINT_MAX)]




def _optional_text(value: str | None) -> str | None:
    return None if value is None else _check_text(value)


# The text check as a marker, for parameters declared with their own Query(...).
CLEAN_TEXT = AfterValidator(_optional_text)
# An optional free-text query parameter (search boxes).
TextQuery = Annotated[str | None, Query(max_length=200), AfterValidator(_optional_text)]


def _strip_null_from_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Document non-nullable PATCH fields as their plain type (optional, never null)."""
    nullable: frozenset[str] = getattr(model, "nullable", frozenset())
    for name, prop in schema.get("properties", {}).items():
        if name in nullable or "anyOf" not in prop:
            continue
        variants = [v for v in prop["anyOf"] if v.get("type") != "null"]
        if len(variants) == 1:
            extras = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
            prop.clear()
            prop.update(variants[0] | extras)


class PatchModel(BaseModel):
    """Base of PATCH bodies: omitted = unchanged, ``null`` only where listed in ``nullable``.

    Declare every field ``X | None = None``; list in ``nullable`` the fields whose
    column may hold NULL (``null`` then clears them). :meth:`changes` is what to apply.
    """

    model_config = ConfigDict(json_schema_extra=_strip_null_from_schema)

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_nullable(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise PydanticCustomError("null_not_allowed", "This field may be omitted but not set to null.")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, with their new values."""
        return self.model_dump(exclude_unset=True)
