"""WeChat errcodes the simulator answers with, and their usual errmsg."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

ERRMSG: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40008: "invalid message type",
    40013: "invalid appid",
    40014: "invalid access_token",
    40029: "invalid code",
    40037: "invalid template_id",
    40097: "invalid args",
    40125: "invalid appsecret",
    40163: "code been used",
    40169: "invalid length for scene, or the data is not json string",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    42001: "access_token expired",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    44002: "empty post data",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    47001: "data format error",
    48001: "api unauthorized",
    47003: "argument invalid!",
}


def wx_error(errcode: int, errmsg: str | None = None) -> JSONResponse:
    """An errcode answer; WeChat sends these with HTTP 200."""
    return JSONResponse({"errcode": errcode, "errmsg": errmsg or ERRMSG.get(errcode, "error")})


def wx_ok(**fields: Any) -> JSONResponse:
    """A success answer with ``errcode: 0``."""
    return JSONResponse({"errcode": 0, "errmsg": "ok", **fields})
