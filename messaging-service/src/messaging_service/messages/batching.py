"""Concurrent callers' items written together: whatever is queued when a writer is free goes in one call.

No timer: under light load a batch is one item (no added latency); under load
the batches grow by themselves, and one round trip and one commit serve many
sends (the hot path's routing and its records, :mod:`messaging_service.messages.fast`).
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Pending(Generic[T, R]):
    __slots__ = ("future", "item")

    def __init__(self, item: T) -> None:
        self.item = item
        self.future: asyncio.Future[R] = asyncio.get_running_loop().create_future()


class Batches(ABC, Generic[T, R]):
    """``writers`` batches in flight at once, at most ``max_batch`` items each."""

    name = "batches"

    def __init__(self, *, writers: int, max_batch: int) -> None:
        self.writers = writers
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Pending[T, R]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def submit(self, item: T) -> R:
        """The item's result once its batch is written (or the exception its batch or item ended with)."""
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._run(), name=f"messaging-{self.name}-{i}")
                           for i in range(self.writers)]
        pending: _Pending[T, R] = _Pending(item)
        await self._queue.put(pending)
        return await pending.future

    @abstractmethod
    async def write(self, items: list[T]) -> list[R | BaseException]:
        """One result (or an exception) per item, in order; raising fails every item of the batch."""

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                results = await self.write([p.item for p in batch])
            except Exception as exc:
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            for pending, result in zip(batch, results, strict=True):
                if pending.future.done():
                    continue
                if isinstance(result, BaseException):
                    pending.future.set_exception(result)
                else:
                    pending.future.set_result(result)

    async def stop(self) -> None:
        """Stop the writers; items still queued fail (their callers take the ORM path)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks = []
        while not self._queue.empty():
            pending = self._queue.get_nowait()
            if not pending.future.done():
                pending.future.set_exception(RuntimeError(f"{self.name} stopped"))
