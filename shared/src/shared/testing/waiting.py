"""Waiting for asynchronous effects without fixed sleeps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    predicate: Callable[[T], bool],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
) -> T:
    """Poll ``probe`` until ``predicate`` holds; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    value = await probe()
    while not predicate(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(interval)
        value = await probe()
    return value


async def until_healthy(session: aiohttp.ClientSession, url: str, *, timeout: float = 20.0) -> None:
    """Wait until ``url`` answers 200 (a process just started); fail when it does not within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            async with session.get(url) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer 200 within {timeout}s")
        await asyncio.sleep(0.1)
