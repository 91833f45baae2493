"""Response shapes of the overview API."""

from datetime import date

from pydantic import BaseModel


class DailyValue(BaseModel):
    """One day's value."""

    day: date
    value: int


class OverviewRead(BaseModel):
    """Headline numbers of the operations index."""

    members_total: int
    new_members: list[DailyValue]
    follows: list[DailyValue]
