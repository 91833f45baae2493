"""The simulator app: WeChat's APIs, WeChat Pay and the ``/sim`` control API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response

from shared.settings import load_settings
from wechat_simulator import routes_actions, routes_control, routes_messages, routes_pay, routes_wechat
from wechat_simulator.config import SimulatorSettings
from wechat_simulator.context import Sim
from wechat_simulator.delivery import Delivery
from wechat_simulator.faults import FaultMiddleware
from wechat_simulator.state import SimState


def create_app(
    settings: SimulatorSettings | None = None,
    *,
    push_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the simulator; ``push_transport`` lets tests receive pushes in-process."""
    settings = settings or load_settings(SimulatorSettings)
    state = SimState()
    sim = Sim(settings=settings, state=state, delivery=Delivery(settings, state, push_transport))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        state.reset()  # cancels background deliveries
        await sim.delivery.aclose()

    app = FastAPI(title="WeChat simulator", version="0.1.0", lifespan=lifespan)
    app.state.sim = sim
    # Added first, so it runs inside the fault middleware (faults apply to the fast path too).
    app.add_middleware(routes_messages.SendFastPath, sim=sim)
    app.add_middleware(FaultMiddleware, state=state)
    for module in (routes_wechat, routes_messages, routes_pay, routes_actions, routes_control):
        app.include_router(module.router)

    @app.exception_handler(routes_pay.PayError)
    async def pay_error(request: Request, exc: routes_pay.PayError) -> Response:
        return routes_pay.signed(sim, exc.status, {"code": exc.code, "message": exc.message})

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
