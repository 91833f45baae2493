"""Shapes of ``POST /mp/v1/activity``: the batch, one item per kind, the answer.

The batch envelope (an object with at most :data:`MAX_ITEMS` ``events``) is
checked as a whole; each item is then checked on its own, so one bad item is
reported by index in ``rejected`` instead of failing the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool

from shared.fields import Id, Text

MAX_ITEMS = 100
MAX_BODY_BYTES = 64 * 1024
MAX_AGE_SECONDS = 24 * 3600
MAX_AHEAD_SECONDS = 5 * 60
# A page view longer than a day is a stuck timer, not a reading session.
MAX_DURATION_MS = 24 * 3600 * 1000
MAX_PAGE_CHARS = 256
MAX_PROPS_BYTES = 4096
MAX_PROPS_KEYS = 32
MAX_CUSTOM_NAME_CHARS = 64
MAX_EVENT_ID_CHARS = 64
MAX_QUIZ_REF_CHARS = 64
MAX_SHARE_TICKET_CHARS = 512
CUSTOM_NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
KNOWN_KINDS = ("page.viewed", "quiz.answered", "content.shared")

EventId = Annotated[
    Text, Field(min_length=1, max_length=MAX_EVENT_ID_CHARS, description="Client id of the item (dedupe key)")
]
ShortText = Annotated[Text, Field(min_length=1, max_length=MAX_QUIZ_REF_CHARS)]
QuizRef = Annotated[Id | ShortText, Field(description="A quiz or question id: a positive integer or a short string")]


class ActivityItem(BaseModel):
    """One recorded action, as documented (items are checked one by one; see ``rejected``)."""

    kind: Annotated[
        Text,
        Field(
            max_length=7 + MAX_CUSTOM_NAME_CHARS,
            description="page.viewed | quiz.answered | content.shared | custom.<name> "
            f"(name: lower-case letters, digits, _ . -, at most {MAX_CUSTOM_NAME_CHARS} characters)",
            examples=["page.viewed"],
        ),
    ]
    at: Annotated[
        AwareDatetime,
        Field(description="When it happened on the device (RFC 3339 with offset); at most 24 h old, 5 min ahead"),
    ]
    page: Annotated[Text, Field(min_length=1, max_length=MAX_PAGE_CHARS)] | None = Field(
        None, description="Page path; required for page.viewed"
    )
    duration_ms: Annotated[int, Field(ge=0, le=MAX_DURATION_MS)] | None = Field(
        None, description="Time spent on the page"
    )
    props: dict[str, Any] | None = Field(
        None,
        description=f"Kind-specific properties (JSON object, at most {MAX_PROPS_KEYS} keys and "
        f"{MAX_PROPS_BYTES} bytes). quiz.answered: quiz_id, question_id, correct, optional series_id, "
        "period_id; content.shared: target (group | friend | moments), optional share_ticket",
    )
    event_id: EventId | None = None

    model_config = ConfigDict(extra="forbid")


class ActivityBatch(BaseModel):
    """A batch of recorded actions."""

    events: Annotated[list[ActivityItem], Field(min_length=1, max_length=MAX_ITEMS)]


class RejectedItem(BaseModel):
    """An item that was not recorded, and why."""

    index: int = Field(description="Position of the item in ``events``")
    reason: str = Field(description="English slug, e.g. unknown-kind, at-too-old, invalid-field")
    field: str | None = Field(None, description="The offending field, dotted (e.g. props.quiz_id)")
    detail: str | None = Field(None, description="What is wrong")


class ActivityAccepted(BaseModel):
    """The answer: every item is either accepted (durably recorded) or listed in ``rejected``."""

    accepted: int = Field(description="Items recorded (including ones a retried batch had already recorded)")
    duplicates: int = Field(0, description="Accepted items whose event_id had already been recorded")
    rejected: list[RejectedItem]


# Per-kind checks of what the documented item leaves open.
class ItemBase(BaseModel):
    """The fields every kind shares (strict about unknown keys)."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    at: AwareDatetime
    page: Annotated[Text, Field(min_length=1, max_length=MAX_PAGE_CHARS)] | None = None
    duration_ms: Annotated[int, Field(ge=0, le=MAX_DURATION_MS), Field(strict=True)] | None = None
    props: dict[str, Any] | None = None
    event_id: EventId | None = None


class PageViewed(ItemBase):
    page: Annotated[Text, Field(min_length=1, max_length=MAX_PAGE_CHARS)]


class QuizProps(BaseModel):
    model_config = ConfigDict(extra="allow")

    quiz_id: QuizRef
    question_id: QuizRef
    correct: StrictBool
    series_id: Id | None = None
    period_id: Id | None = None


class SharedProps(BaseModel):
    model_config = ConfigDict(extra="allow")

    target: Literal["group", "friend", "moments"]
    share_ticket: Annotated[Text, Field(min_length=1, max_length=MAX_SHARE_TICKET_CHARS)] | None = None


@dataclass(frozen=True, slots=True)
class Validated:
    """An accepted item, normalised."""

    kind: str
    at: datetime
    page: str | None
    duration_ms: int | None
    props: dict[str, Any]
    event_id: str | None
