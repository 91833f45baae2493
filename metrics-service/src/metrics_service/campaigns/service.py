"""Campaign figures: one period, renewal between periods, cohorts, channel funnels."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pyroaring import BitMap
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from metrics_service import definitions
from metrics_service.activity import bitmaps
from metrics_service.campaigns import repository
from metrics_service.campaigns.schemas import (
    ChannelFunnel,
    ChannelsRead,
    CohortPart,
    CohortPeriod,
    CohortsRead,
    DecileBin,
    FunnelStep,
    PeriodFigureRead,
    RenewalRead,
    RenewalStep,
)
from metrics_service.figures import Window
from metrics_service.summaries import repository as summaries
from metrics_service.summaries.service import MEMBERS, SEEN_AFTER, period_figure_of_facts
from shared.errors import NotFound


async def period_figure(session: AsyncSession, period_id: int) -> PeriodFigureRead:
    """Registrations, payments, check-in rate deciles, completion and refunds of one period (its summary row)."""
    period = await repository.period(session, period_id)
    if period is None:
        raise NotFound("没有这个活动期的数据。", slug="period-not-found", title="Period not found")
    figure = await summaries.period_summary(session, period_id)
    if figure is None:  # facts from before the summaries existed: computed now, the same way
        figure = await period_figure_of_facts(session, period_id)
    bins, members, completed = figure.pop("deciles"), figure.pop("members"), figure.pop("completed")
    return PeriodFigureRead(
        period_id=period_id, series_id=period["series_id"], number=period["number"],
        ended=period["closed_at"] is not None, members=members,
        checkin_rate_deciles=[DecileBin(low=10 * i, high=10 * (i + 1), members=n) for i, n in enumerate(bins)],
        completed=completed, completion_rate=definitions.rate(completed, members),
        **figure,
    )


async def _series_or_404(session: AsyncSession, series_id: int) -> list[dict[str, Any]]:
    periods = await repository.series_periods(session, series_id)
    if not periods:
        raise NotFound("没有这个系列的数据。", slug="series-not-found", title="Series not found")
    return periods


async def renewal(session: AsyncSession, series_id: int, window_days: int) -> RenewalRead:
    """Per period N → N+1: members, renewed, still in groups, active in the window, churned.

    Reads the summaries: each period's member bitmap and its "seen after it
    ended" bitmap, and the mini-program day bitmaps of the window.
    """
    periods = await _series_or_404(session, series_id)
    ids = [p["period_id"] for p in periods]
    members = await summaries.period_maps(session, ids, MEMBERS)
    seen_after = await summaries.period_maps(session, ids, SEEN_AFTER)
    steps = []
    for i in range(len(periods) - 1):
        this, after = periods[i], periods[i + 1]
        of_n = members[this["period_id"]]
        renewed = of_n & members[after["period_id"]]
        ended = this["closed_at"]
        opened = definitions.period_opened_at(
            announced=after["announced_at"], first_registration=after["first_registration_at"],
            previous_ended=ended,
        )
        in_groups = of_n & seen_after[this["period_id"]] if ended is not None else BitMap()
        active = BitMap()
        window_from = window_to = None
        if opened is not None:
            window_to = definitions.local_day(opened) - timedelta(days=1)
            window_from = window_to - timedelta(days=window_days - 1)
            if of_n:
                active = of_n & await bitmaps.union(
                    session, kind=bitmaps.MINI_PROGRAM, first=window_from, last=window_to
                )
        others = of_n - renewed
        churned = others - in_groups - active
        steps.append(
            RenewalStep(
                from_period_id=this["period_id"], from_number=this["number"],
                to_period_id=after["period_id"], to_number=after["number"],
                ended_at=ended, opened_at=opened, window_from=window_from, window_to=window_to,
                members=len(of_n), renewed=len(renewed), renewal_rate=definitions.rate(len(renewed), len(of_n)),
                still_in_groups=len(in_groups), non_renewers_in_groups=len(others & in_groups),
                active_in_window=len(active), non_renewers_active=len(others & active),
                active_ratio=definitions.rate(len(active & in_groups), len(in_groups)),
                churned=len(churned), churn_rate=definitions.rate(len(churned), len(of_n)),
            )
        )
    return RenewalRead(series_id=series_id, active_window_days=window_days, steps=steps)


async def _periods_by_id(session: AsyncSession, period_ids: set[int]) -> dict[int, dict[str, Any]]:
    rows = await session.execute(
        text("SELECT period_id, series_id, number FROM period_facts WHERE period_id = ANY(CAST(:ps AS bigint[]))"),
        {"ps": sorted(period_ids)},
    )
    return {int(r["period_id"]): dict(r) for r in rows.mappings()}


def _period_part(period_id: int, facts: dict[int, dict[str, Any]], n: int) -> CohortPart:
    fact = facts.get(period_id, {})
    return CohortPart(
        key=f"period-{period_id}", kind="period", period_id=period_id, series_id=fact.get("series_id"),
        number=fact.get("number"), members=n,
    )


async def cohorts(session: AsyncSession, series_id: int, view: str) -> CohortsRead:
    """Each period's registrants by origin (this series), source (anywhere) or destination (last campaign).

    Set operations on the summaries: the periods' member bitmaps (origin) and
    the bitmaps of members per source or destination key.
    """
    periods = await _series_or_404(session, series_id)
    ids = [p["period_id"] for p in periods]
    members = await summaries.period_maps(session, ids, MEMBERS)
    keyed = await summaries.cohort_maps(session, view) if view in ("source", "destination") else []
    out = []
    for position, period in enumerate(periods):
        people = members[period["period_id"]]
        ended = period["closed_at"] is not None
        counts: dict[tuple[str, int], int] = {}
        scenes: dict[int, str] = {}
        if view == "origin":
            rest = BitMap(people)
            for earlier in ids[: position + 1]:
                n = rest.intersection_cardinality(members[earlier])
                if n:
                    counts[("period", earlier)] = n
                    rest -= members[earlier]
        elif view == "source" or ended:
            for kind, ident, scene, holders in keyed:
                n = people.intersection_cardinality(holders)
                if n:
                    counts[(kind, ident)] = counts.get((kind, ident), 0) + n
                    if kind == "channel" and scene is not None:
                        scenes[ident] = scene
            unknown = len(people) - sum(counts.values())
            if unknown > 0:
                counts[("unknown", 0)] = unknown
        facts = await _periods_by_id(session, {i for k, i in counts if k == "period"})
        parts = []
        for (kind, ident), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            if kind == "period":
                parts.append(_period_part(ident, facts, n))
            elif kind == "channel":
                parts.append(CohortPart(key=f"channel-{ident}", kind="channel", channel_id=ident,
                                        scene=scenes.get(ident), members=n))
            else:
                parts.append(CohortPart(key="unknown", kind="unknown", members=n))
        out.append(
            CohortPeriod(
                period_id=period["period_id"], number=period["number"], registrants=len(people), ended=ended,
                parts=parts,
            )
        )
    return CohortsRead(series_id=series_id, view=view, periods=out)


STEPS = ("scanned", "followed", "registered", "paid", "completed", "renewed")


async def channels(session: AsyncSession, window: Window) -> ChannelsRead:
    """Per channel: scanned → followed → registered → paid → completed → renewed."""
    rows = await summaries.channel_totals(session, first=window.first, last=window.last)
    funnels = []
    for row in rows:
        steps, previous = [], None
        for name in STEPS:
            n = int(row[name])
            steps.append(
                FunnelStep(
                    name=name, members=n,
                    conversion=definitions.rate(n, int(row["scanned"])),
                    drop_off=None if previous is None else definitions.rate(previous - n, previous),
                )
            )
            previous = n
        funnels.append(ChannelFunnel(channel_id=int(row["channel_id"]), scene=str(row["scene"]), steps=steps))
    return ChannelsRead(date_from=window.first, date_to=window.last, channels=funnels)
