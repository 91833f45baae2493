"""The simulator's send answers while its delivery pushes queue behind a slow gateway (issue 12's template timeouts).

Starts the real simulator (``python -m wechat_simulator``) and a stub gateway that answers every push after
``--gateway-delay`` seconds, then posts ``--sends`` template (or customer-service) sends at ``--rate`` and prints
the answer times and the simulator's CPU per send. Template sends each make the simulator push a delivery
result; customer-service sends push nothing (the baseline of the same run's machine).

    .venv/bin/python bench/messages/pushes.py --kind template --rate 100 --sends 300 --gateway-delay 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time

import aiohttp
import psutil
from aiohttp import web

from shared.settings import QunyunSettings
from shared.testing.infra import free_port
from shared.testing.waiting import until_healthy


async def run(kind: str, rate: float, sends: int, gateway_delay: float) -> None:
    """One measurement; prints one line."""
    async def push(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(gateway_delay)
        return web.Response(text="success")

    app = web.Application()
    app.router.add_post("/wechat/{kind}/{appid}", push)
    stub = web.AppRunner(app, handler_cancellation=True)
    await stub.setup()
    gateway_port, sim_port = free_port(), free_port()
    await web.TCPSite(stub, "127.0.0.1", gateway_port).start()
    env = dict(os.environ, WECHAT_SIM_PORT=str(sim_port), QUNYUN_GATEWAY_URL=f"http://127.0.0.1:{gateway_port}")
    process = subprocess.Popen([sys.executable, "-m", "wechat_simulator"], env=env,  # noqa: ASYNC220
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sim = f"http://127.0.0.1:{sim_port}"
    settings = QunyunSettings()
    try:
        async with aiohttp.ClientSession() as session:
            await until_healthy(session, f"{sim}/healthz")
            async with session.post(f"{sim}/sim/people/bulk", json={"count": sends, "follow": True,
                                                                      "texted": True}) as r:
                people = await r.json()
            async with session.get(f"{sim}/cgi-bin/token", params={
                    "grant_type": "client_credential", "appid": settings.oa_appid,
                    "secret": settings.oa_secret.get_secret_value()}) as r:
                token = (await r.json())["access_token"]
            latencies: list[float] = []

            async def one(person: dict) -> None:
                if kind == "template":
                    url = f"{sim}/cgi-bin/message/template/send?access_token={token}"
                    body = {"touser": person["oa_openid"], "template_id": "OA_NOTICE",
                            "data": {"thing1": {"value": "单词打卡"}}}
                else:
                    url = f"{sim}/cgi-bin/message/custom/send?access_token={token}"
                    body = {"touser": person["oa_openid"], "msgtype": "text", "text": {"content": "单词打卡"}}
                started = time.perf_counter()
                async with session.post(url, json=body) as r:
                    answer = await r.json(content_type=None)
                latencies.append(time.perf_counter() - started)
                assert answer.get("errcode", 0) == 0, answer

            meter = psutil.Process(process.pid)
            before = meter.cpu_times()
            begin = time.perf_counter()
            tasks = []
            for i, person in enumerate(people):
                await asyncio.sleep(max(0.0, begin + i / rate - time.perf_counter()))
                tasks.append(asyncio.create_task(one(person)))
            await asyncio.gather(*tasks)
            await asyncio.sleep(gateway_delay + 1)  # the pushes' CPU too
            after = meter.cpu_times()
        cpu = (after.user + after.system - before.user - before.system) / sends
        latencies.sort()
        p50, p90 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.9)]
        print(f"{kind} sends: {sends} at {rate:g}/s, gateway answering pushes after {gateway_delay:g} s: answers "
              f"p50 {p50 * 1000:,.0f} ms, p90 {p90 * 1000:,.0f} ms, max {latencies[-1] * 1000:,.0f} ms; "
              f"simulator CPU {cpu * 1e6:,.0f} µs per send; "
              f"load average {os.getloadavg()[0]:.1f}")
    finally:
        process.terminate()
        process.wait(10)
        await stub.cleanup()


def main() -> None:
    """Parse the options and measure."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=("template", "custom"), default="template")
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--sends", type=int, default=300)
    parser.add_argument("--gateway-delay", type=float, default=2.0, help="seconds before the stub answers a push")
    args = parser.parse_args()
    asyncio.run(run(args.kind, args.rate, args.sends, args.gateway_delay))


if __name__ == "__main__":
    main()
