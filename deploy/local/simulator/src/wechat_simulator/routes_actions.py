"""Control API, part 1: simulated people, their codes and data, and their actions as real pushes."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from shared.wechat.miniprogram import encrypt_data, watermark
from wechat_simulator import pushes, windows
from wechat_simulator.config import PushFormat, PushMode
from wechat_simulator.context import Sim, SimDep
from wechat_simulator.routes_pay import pay_order, send_notification
from wechat_simulator.routes_wechat import ticket_for_scene
from wechat_simulator.state import App, OneTimeCode, Person, PushRecord, wechat_id

router = APIRouter(prefix="/sim")


class PersonCreate(BaseModel):
    """A new simulated user."""

    with_unionid: bool = True
    nickname: str = ""


class PhoneCodeCreate(BaseModel):
    """The phone the user confirms with the phone button."""

    phone: str = "13800138000"
    country_code: str = "86"


class EncryptedDataCreate(BaseModel):
    """What ``wx.getPhoneNumber`` (legacy), ``wx.getShareInfo`` or ``wx.getGroupEnterInfo`` return."""

    kind: Literal["phone", "share", "group_enter"]
    phone: str | None = None
    country_code: str = "86"
    open_gid: str | None = None


class PushOptions(BaseModel):
    """Per-action override of the push URL's security mode and data format."""

    mode: PushMode | None = None
    format: PushFormat | None = None


class FollowAction(PushOptions):
    """Follow the service account, from a scene QR code when ``scene`` is set."""

    scene: str | None = None


class ScanAction(PushOptions):
    """Scan a scene QR code of the service account."""

    scene: str = Field(min_length=1, max_length=64)


class TextAction(PushOptions):
    """Send a text message to the service account or the mini-program's customer service."""

    content: str
    app: App = "oa"


class ClickAction(PushOptions):
    """Click a menu item of the service account."""

    key: str


class PopupAction(PushOptions):
    """Answer ``wx.requestSubscribeMessage``: template id → accept | reject."""

    templates: dict[str, Literal["accept", "reject"]] = Field(min_length=1, max_length=5)


class ChangeAction(PushOptions):
    """Turn subscriptions off in the mini-program's settings (only rejections are pushed)."""

    templates: dict[str, Literal["reject"]] = Field(min_length=1)


class PayAction(BaseModel):
    """Confirm payment of an order in WeChat."""

    out_trade_no: str


class SessionAction(PushOptions):
    """Enter the mini-program's customer-service session."""

    session_from: str = ""


def _person(sim: Sim, person_id: str) -> Person:
    person = sim.state.people.get(person_id)
    if person is None:
        raise HTTPException(404, f"no person {person_id}")
    return person


def _outcome(record: PushRecord) -> dict[str, Any]:
    return {"status": record.status, "body": record.body, "attempts": record.attempts}


async def _push(sim: Sim, app: App, message: dict[str, Any], options: PushOptions | None) -> dict[str, Any]:
    options = options or PushOptions()
    fmt = options.format if app == "mp" else "xml"  # the service account only speaks XML
    return _outcome(await sim.delivery.push(app, message, mode=options.mode, fmt=fmt))


@router.post("/people")
async def create_person(sim: SimDep, body: PersonCreate | None = None) -> dict[str, Any]:
    """Create a simulated person with an openid in each app (and a UnionID if bound)."""
    body = body or PersonCreate()
    return sim.state.add_person(body.nickname, body.with_unionid).public()


class PeopleBulk(BaseModel):
    """Many people at once, without pushes (benchmarks seed the services' projections themselves)."""

    count: int = Field(ge=1, le=200_000)
    follow: bool = False
    # Each follower also sent the service account a text: a 48-hour window of 5 customer-service sends.
    texted: bool = False


@router.post("/people/bulk")
async def create_people(body: PeopleBulk, sim: SimDep) -> list[dict[str, Any]]:
    """Create ``count`` people (following, with a text window if asked); nothing is pushed to the gateway."""
    now = sim.state.now()
    created = []
    for _ in range(body.count):
        person = sim.state.add_person("", False, fast_ids=True)
        if body.follow:
            person.following, person.subscribe_time = True, int(now)
            person.subscribe_scene = "ADD_SCENE_SEARCH"
            if body.texted:
                windows.open_window(person, "oa", "message", now)
        created.append({"person_id": person.person_id, "mp_openid": person.mp_openid,
                        "oa_openid": person.oa_openid})
    return created


@router.get("/people/{person_id}")
async def get_person(person_id: str, sim: SimDep) -> dict[str, Any]:
    """One simulated person."""
    return _person(sim, person_id).public()


@router.post("/people/{person_id}/unionid")
async def assign_unionid(person_id: str, sim: SimDep) -> dict[str, Any]:
    """Give the person a UnionID (the apps were bound to the Open Platform later)."""
    person = _person(sim, person_id)
    if person.unionid is None:
        person.unionid = wechat_id()
    return person.public()


@router.post("/people/{person_id}/login-code")
async def login_code(person_id: str, sim: SimDep) -> dict[str, str]:
    """``wx.login``: a fresh code; the session_key rotates now, as the client's does."""
    person = _person(sim, person_id)
    person.session_key = base64.b64encode(os.urandom(16)).decode()
    code = "0" + secrets.token_urlsafe(24)[:31]
    sim.state.login_codes[code] = OneTimeCode(
        code, person_id, sim.state.now(), session_key=person.session_key
    )
    return {"code": code}


@router.post("/people/{person_id}/phone-code")
async def phone_code(person_id: str, sim: SimDep, body: PhoneCodeCreate | None = None) -> dict[str, str]:
    """The code the phone-number button hands the client."""
    body = body or PhoneCodeCreate()
    _person(sim, person_id)
    code = secrets.token_hex(32)
    sim.state.phone_codes[code] = OneTimeCode(
        code, person_id, sim.state.now(), phone=body.phone, country_code=body.country_code
    )
    return {"code": code}


@router.post("/people/{person_id}/encrypted-data")
async def encrypted_data(person_id: str, body: EncryptedDataCreate, sim: SimDep) -> dict[str, str]:
    """encryptedData + iv as the client receives them, under the person's latest session_key."""
    person = _person(sim, person_id)
    if person.session_key is None:
        raise HTTPException(409, "the person has never logged in: ask for a login code first")
    mark = watermark(sim.settings.mp_appid, int(sim.state.now()))
    payload: dict[str, Any]
    if body.kind == "phone":
        if not body.phone:
            raise HTTPException(422, "phone is required")
        full = body.phone if body.country_code == "86" else f"+{body.country_code} {body.phone}"
        payload = {"phoneNumber": full, "purePhoneNumber": body.phone, "countryCode": body.country_code}
    elif not body.open_gid:
        raise HTTPException(422, "open_gid is required")
    elif body.kind == "share":
        payload = {"openGId": body.open_gid}
    else:
        # Newer clients: lowercase fields, plus the member's id inside that group.
        digest = hashlib.sha256(f"{body.open_gid}:{person.mp_openid}".encode()).hexdigest()
        payload = {"opengid": body.open_gid, "group_openid": "g" + digest[:27], "chat_type": 3}
    data, iv = encrypt_data(person.session_key, {**payload, "watermark": mark})
    return {"encrypted_data": data, "iv": iv}


@router.post("/people/{person_id}/follow")
async def follow(person_id: str, sim: SimDep, body: FollowAction | None = None) -> dict[str, Any]:
    """Follow the service account (from a scene QR code if ``scene`` is given)."""
    body = body or FollowAction()
    person = _person(sim, person_id)
    if person.following:
        raise HTTPException(409, "already following")
    return await _subscribe(sim, person, body.scene, body)


async def _subscribe(sim: Sim, person: Person, scene: str | None, options: PushOptions) -> dict[str, Any]:
    now = sim.state.now()
    person.following, person.subscribe_time = True, int(now)
    person.subscribe_scene = "ADD_SCENE_QR_CODE" if scene else "ADD_SCENE_SEARCH"
    person.qr_scene = int(scene) if scene and scene.isdigit() else 0
    person.qr_scene_str = scene if scene and not scene.isdigit() else ""
    windows.open_window(person, "oa", "event", now)
    fields: dict[str, Any] = {"EventKey": ""}
    if scene:
        fields = {"EventKey": f"qrscene_{scene}", "Ticket": ticket_for_scene(sim, scene)}
    message = pushes.event(sim.settings, sim.state, person, "oa", "subscribe", **fields)
    return await _push(sim, "oa", message, options)


@router.post("/people/{person_id}/unfollow")
async def unfollow(person_id: str, sim: SimDep, body: PushOptions | None = None) -> dict[str, Any]:
    """Unfollow the service account."""
    person = _person(sim, person_id)
    if not person.following:
        raise HTTPException(409, "not following")
    person.following = False
    windows.close_windows(person, "oa")
    message = pushes.event(sim.settings, sim.state, person, "oa", "unsubscribe", EventKey="")
    return await _push(sim, "oa", message, body)


@router.post("/people/{person_id}/scan")
async def scan(person_id: str, body: ScanAction, sim: SimDep) -> dict[str, Any]:
    """Scan a scene QR code: SCAN for a follower, a follow with the scene otherwise."""
    person = _person(sim, person_id)
    if not person.following:
        return await _subscribe(sim, person, body.scene, body)
    windows.open_window(person, "oa", "event", sim.state.now())
    ticket = ticket_for_scene(sim, body.scene)
    message = pushes.event(sim.settings, sim.state, person, "oa", "SCAN", EventKey=body.scene, Ticket=ticket)
    return await _push(sim, "oa", message, body)


@router.post("/people/{person_id}/text")
async def text(person_id: str, body: TextAction, sim: SimDep) -> dict[str, Any]:
    """A text message from the person to the service account or the mini-program."""
    person = _person(sim, person_id)
    if body.app == "oa" and not person.following:
        raise HTTPException(409, "only followers can message the service account")
    windows.open_window(person, body.app, "message", sim.state.now())
    message = pushes.text(sim.settings, sim.state, person, body.app, body.content)
    return await _push(sim, body.app, message, body)


@router.post("/people/{person_id}/click")
async def click(person_id: str, body: ClickAction, sim: SimDep) -> dict[str, Any]:
    """A click on a service-account menu item."""
    person = _person(sim, person_id)
    if not person.following:
        raise HTTPException(409, "only followers see the menu")
    windows.open_window(person, "oa", "event", sim.state.now())
    message = pushes.event(sim.settings, sim.state, person, "oa", "CLICK", EventKey=body.key)
    return await _push(sim, "oa", message, body)


@router.post("/people/{person_id}/subscribe-popup")
async def subscribe_popup(person_id: str, body: PopupAction, sim: SimDep) -> dict[str, Any]:
    """Answer a subscribe-message popup; each accept is one send credit of that template."""
    person = _person(sim, person_id)
    state = sim.state
    items: list[dict[str, Any]] = []
    for template_id, choice in body.templates.items():
        state.known_templates["mp"].add(template_id)
        if choice == "accept":
            state.credits[(person.mp_openid, template_id)] += 1
        items.append({"TemplateId": template_id, "SubscribeStatusString": choice, "PopupScene": 0})
    fmt = body.format or sim.delivery.default_format("mp")
    message = pushes.list_event(sim.settings, state, person, "subscribe_msg_popup_event", items, fmt)
    return _outcome(await sim.delivery.push("mp", message, mode=body.mode, fmt=fmt))


@router.post("/people/{person_id}/subscribe-change")
async def subscribe_change(person_id: str, body: ChangeAction, sim: SimDep) -> dict[str, Any]:
    """Turn templates off in the settings page: later sends of them answer 43101."""
    person = _person(sim, person_id)
    items: list[dict[str, Any]] = []
    for template_id in body.templates:
        sim.state.credits.pop((person.mp_openid, template_id), None)
        items.append({"TemplateId": template_id, "SubscribeStatusString": "reject"})
    fmt = body.format or sim.delivery.default_format("mp")
    message = pushes.list_event(sim.settings, sim.state, person, "subscribe_msg_change_event", items, fmt)
    return _outcome(await sim.delivery.push("mp", message, mode=body.mode, fmt=fmt))


@router.post("/people/{person_id}/enter-session")
async def enter_session(person_id: str, sim: SimDep, body: SessionAction | None = None) -> dict[str, Any]:
    """Enter the mini-program's customer-service session."""
    body = body or SessionAction()
    person = _person(sim, person_id)
    windows.open_window(person, "mp", "session", sim.state.now())
    message = pushes.event(
        sim.settings, sim.state, person, "mp", "user_enter_tempsession", SessionFrom=body.session_from
    )
    return await _push(sim, "mp", message, body)


@router.post("/people/{person_id}/pay")
async def pay(person_id: str, body: PayAction, sim: SimDep) -> dict[str, Any]:
    """Pay an order: it becomes SUCCESS and a signed, encrypted TRANSACTION.SUCCESS is notified."""
    person = _person(sim, person_id)
    order = sim.state.orders.get(body.out_trade_no)
    if order is None:
        raise HTTPException(404, f"no order {body.out_trade_no}")
    if order.payer_openid not in (person.mp_openid, person.oa_openid):
        raise HTTPException(409, "the order belongs to someone else")
    if order.trade_state != "NOTPAY":
        raise HTTPException(409, f"order is {order.trade_state}")
    plaintext = pay_order(sim, order)
    if order.appid == sim.settings.oa_appid:
        windows.open_window(person, "oa", "payment", sim.state.now())
    return await send_notification(
        sim, order.notify_url, "TRANSACTION.SUCCESS", "支付成功", "transaction", plaintext
    )
