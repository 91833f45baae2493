"""A bare FastAPI app answering ``success``: the baseline of the callbacks benchmark."""

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

app = FastAPI()


@app.post("/wechat/oa/{appid}")
async def push(appid: str) -> PlainTextResponse:
    """Answer like the gateway does, doing nothing else."""
    return PlainTextResponse("success")
