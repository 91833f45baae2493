"""``python -m wechat_simulator``: serve the simulator on WECHAT_SIM_HOST:WECHAT_SIM_PORT (127.0.0.1:8900)."""

from __future__ import annotations

import uvicorn

from shared.http import SERVER_KEEPALIVE_SECONDS
from shared.settings import load_settings
from wechat_simulator.config import SimulatorSettings
from wechat_simulator.main import create_app


def main() -> None:
    """Run the simulator until interrupted."""
    settings = load_settings(SimulatorSettings)
    # No access log: one line per call costs more than the simulated call under load tests.
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level="info", access_log=False,
        timeout_keep_alive=SERVER_KEEPALIVE_SECONDS,
    )


if __name__ == "__main__":
    main()
