"""The simulator's per-app context, reachable from every route."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from wechat_simulator.config import SimulatorSettings
from wechat_simulator.delivery import Delivery
from wechat_simulator.paykeys import PayKeys, load_pay_keys, rotated
from wechat_simulator.state import SimState


@dataclass
class Sim:
    """Settings, world state and push delivery of one simulator app."""

    settings: SimulatorSettings
    state: SimState
    delivery: Delivery
    _pay_keys: PayKeys | None = field(default=None, repr=False)

    def pay_keys(self) -> PayKeys:
        """The pay keys, loaded on first use (raises PayKeysMissing when not configured)."""
        if self._pay_keys is None:
            self._pay_keys = load_pay_keys(self.settings)
        return self._pay_keys

    def rotate_pay_keys(self, *, keep_old: bool = True) -> PayKeys:
        """Switch to a new platform key and certificate (listed by GET /v3/certificates)."""
        self._pay_keys = rotated(self.pay_keys(), keep_old=keep_old)
        return self._pay_keys

    def reset_pay_keys(self) -> None:
        """Back to the configured platform key (undoes rotations)."""
        self._pay_keys = None


async def get_sim(request: Request) -> Sim:
    """The simulator context of the app serving ``request`` (async: no thread hop per request)."""
    sim: Sim = request.app.state.sim
    return sim


SimDep = Annotated[Sim, Depends(get_sim)]
