"""Member, staff and internal tokens, and the dependencies that check them.

All tokens are JWTs (HS256) signed with a key derived from
``QUNYUN_SECRET_KEY`` per purpose (HKDF), so a member token can never pass as
a staff or internal token. During key rotation the previous secret is still
accepted for verification; new tokens always use the current one.

Flow: the gateway verifies the caller's member/staff token, then calls the
owning service with a short-lived *internal* token (audience = that service)
that carries the caller's identity. Services trust only internal tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import time
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import Depends, Request

from shared.errors import Forbidden, Unauthorized

# Every dependency below is ``async def`` on purpose: FastAPI runs sync
# dependencies in a thread pool, which costs more than the check itself.
from shared.settings import QunyunSettings

ALGORITHM = "HS256"
ISSUER = "qunyun"
STAFF_ROLES = ("admin", "operator", "sales", "viewer")

MEMBER_TTL = 2 * 3600
STAFF_TTL = 8 * 3600
INTERNAL_TTL = 120
LEEWAY = 5
# Tokens remembered per codec (verified claims, issued internal tokens);
# past this the memory is simply cleared.
CACHE_SIZE = 10_000
# The header every token we issue carries (PyJWT's, byte for byte). A token
# with exactly this header is checked by the HS256 code below (HMAC, then the
# claims PyJWT would check), at a fraction of PyJWT's cost per token: at a
# launch every member's first request carries a token not seen before, in the
# gateway (member token) and again in the service (internal token). Any other
# header goes through PyJWT.
_HEADER_B64 = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _as_int(value: Any) -> int:
    """A NumericDate as PyJWT reads it (``int()``); ValueError when it is not one."""
    try:
        return int(value)
    except (ValueError, TypeError, OverflowError):
        raise ValueError("not a NumericDate") from None


def _check_claims(claims: dict[str, Any], audience: str | None) -> None:
    """PyJWT's claim checks for our decode options; ValueError on the first that fails."""
    for name in ("exp", "iat", "typ"):
        if claims.get(name) is None:
            raise ValueError(f"missing {name}")
    now = time.time()
    if _as_int(claims["iat"]) > now + LEEWAY:
        raise ValueError("iat in the future")
    if "nbf" in claims and _as_int(claims["nbf"]) > now + LEEWAY:
        raise ValueError("not yet valid")
    if claims.get("iss") != ISSUER:
        raise ValueError("issuer")
    aud = claims.get("aud")
    if audience is not None:
        audiences = [aud] if isinstance(aud, str) else aud
        if not aud or not isinstance(audiences, list) or audience not in audiences:
            raise ValueError("audience")
        if any(not isinstance(a, str) for a in audiences):
            raise ValueError("audience")
    if "sub" in claims and not isinstance(claims["sub"], str):
        raise ValueError("subject")
    if "jti" in claims and not isinstance(claims["jti"], str):
        raise ValueError("jti")


def derive_key(secret: bytes, purpose: str, length: int = 32) -> bytes:
    """A purpose-bound key from the master secret."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=b"qunyun", info=purpose.encode()).derive(
        secret
    )


@dataclass(frozen=True)
class MemberPrincipal:
    """A mini-program member acting through the gateway."""

    member_no: int
    session_id: str | None = None


@dataclass(frozen=True)
class StaffPrincipal:
    """A staff user acting through the ops console."""

    staff_id: int
    username: str
    roles: frozenset[str]

    def has_any(self, *roles: str) -> bool:
        """Whether this staff user holds one of ``roles``."""
        return bool(self.roles.intersection(roles))


@dataclass(frozen=True)
class InternalCaller:
    """Who called a service: the calling component and the end user, if any."""

    caller: str
    member: MemberPrincipal | None = None
    staff: StaffPrincipal | None = None


class TokenCodec:
    """Issues and verifies every token kind with rotation-aware keys."""

    def __init__(self, settings: QunyunSettings) -> None:
        secrets = settings.verification_keys()
        self._keys: dict[str, list[bytes]] = {
            kind: [derive_key(s, f"token:{kind}") for s in secrets]
            for kind in ("member", "staff", "internal")
        }
        # Checking an HMAC signature costs more than the rest of a small
        # request between services, and a client sends the same token many
        # times: verified claims are remembered (expiry is still checked on
        # every use), and an internal token is reused for half its lifetime.
        self._verified: dict[tuple[str, str, str | None], dict[str, Any]] = {}
        self._issued: dict[tuple[Any, ...], tuple[str, float]] = {}

    def _encode(self, kind: str, claims: dict[str, Any], ttl: int) -> str:
        now = time.time()
        # iat keeps milliseconds (NumericDate may be fractional): a revocation
        # and a re-login in the same second must stay distinguishable. Cut, not
        # rounded: a rounded-up iat lies up to 0.5 ms ahead, and a verifier
        # without leeway (PyJWT's default) refuses a token that fresh.
        payload = {"iss": ISSUER, "typ": kind, "iat": math.floor(now * 1000) / 1000, "exp": int(now) + ttl, **claims}
        # What jwt.encode(payload, key, "HS256") writes, without its per-call key checks.
        signing_input = f"{_HEADER_B64}.{_b64encode(json.dumps(payload, separators=(',', ':')).encode())}"
        signature = hmac.new(self._keys[kind][0], signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64encode(signature)}"

    def _decode(self, kind: str, token: str, audience: str | None = None) -> dict[str, Any]:
        cache_key = (kind, token, audience)
        claims = self._verified.get(cache_key)
        if claims is None:
            claims = self._verify_signature(kind, token, audience)
            if len(self._verified) >= CACHE_SIZE:
                self._verified.clear()
            self._verified[cache_key] = claims
        # Expiry is ours to check (one clock for fresh and remembered claims).
        if float(claims["exp"]) + LEEWAY < time.time():
            self._verified.pop(cache_key, None)
            raise Unauthorized("登录已过期，请重新登录。", slug="token-expired")
        return claims

    def _verify_signature(self, kind: str, token: str, audience: str | None) -> dict[str, Any]:
        if token.startswith(_HEADER_B64 + "."):
            return self._verify_hs256(kind, token, audience)
        last: Exception | None = None
        for key in self._keys[kind]:
            try:
                claims = jwt.decode(
                    token, key, algorithms=[ALGORITHM], issuer=ISSUER, audience=audience,
                    options={"require": ["exp", "iat", "typ"], "verify_aud": audience is not None,
                             "verify_exp": False},
                    leeway=LEEWAY,
                )
            except jwt.InvalidSignatureError as exc:
                last = exc
                continue
            except jwt.PyJWTError as exc:
                raise Unauthorized("The token is invalid.", slug="token-invalid") from exc
            if claims.get("typ") != kind:
                raise Unauthorized("The token is of the wrong kind.", slug="token-invalid")
            return claims
        raise Unauthorized("The token signature is invalid.", slug="token-invalid") from last

    def _verify_hs256(self, kind: str, token: str, audience: str | None) -> dict[str, Any]:
        """A token with our header: HMAC-SHA256 over the first two segments, then the claims."""
        signing_input, dot, signature_b64 = token.rpartition(".")
        payload_b64 = signing_input[len(_HEADER_B64) + 1:]
        try:
            if not dot or "." in payload_b64 or not signature_b64:
                raise ValueError("not three segments")
            signature = _b64decode(signature_b64)
            message = signing_input.encode("ascii")
        except (ValueError, binascii.Error) as exc:  # UnicodeEncodeError is a ValueError
            raise Unauthorized("The token is invalid.", slug="token-invalid") from exc
        if not any(
            hmac.compare_digest(hmac.new(key, message, hashlib.sha256).digest(), signature)
            for key in self._keys[kind]
        ):
            raise Unauthorized("The token signature is invalid.", slug="token-invalid")
        try:
            claims = json.loads(_b64decode(payload_b64))
            if not isinstance(claims, dict):
                raise ValueError("payload is not an object")
            _check_claims(claims, audience)
        except (ValueError, binascii.Error) as exc:  # json.JSONDecodeError is a ValueError
            raise Unauthorized("The token is invalid.", slug="token-invalid") from exc
        if claims.get("typ") != kind:
            raise Unauthorized("The token is of the wrong kind.", slug="token-invalid")
        return claims

    def issue_member(self, member_no: int, *, session_id: str, ttl: int = MEMBER_TTL) -> str:
        """An access token for a mini-program member."""
        return self._encode("member", {"sub": str(member_no), "sid": session_id}, ttl)

    def verify_member(self, token: str) -> MemberPrincipal:
        """Check a member token."""
        return self.verify_member_token(token)[0]

    def verify_member_token(self, token: str) -> tuple[MemberPrincipal, float]:
        """Check a member token; also return when it was issued (unix seconds)."""
        claims = self._decode("member", token)
        return MemberPrincipal(member_no=int(claims["sub"]), session_id=claims.get("sid")), float(claims["iat"])

    def issue_staff(self, staff: StaffPrincipal, *, ttl: int = STAFF_TTL) -> str:
        """An access token for a staff user."""
        return self._encode(
            "staff", {"sub": str(staff.staff_id), "name": staff.username, "roles": sorted(staff.roles)}, ttl
        )

    def verify_staff(self, token: str) -> StaffPrincipal:
        """Check a staff token."""
        return self.verify_staff_token(token)[0]

    def verify_staff_token(self, token: str) -> tuple[StaffPrincipal, float]:
        """Check a staff token; also return when it was issued (unix seconds)."""
        claims = self._decode("staff", token)
        principal = StaffPrincipal(
            staff_id=int(claims["sub"]), username=str(claims.get("name", "")),
            roles=frozenset(claims.get("roles", [])),
        )
        return principal, float(claims["iat"])

    def issue_internal(
        self,
        *,
        caller: str,
        audience: str,
        member: MemberPrincipal | None = None,
        staff: StaffPrincipal | None = None,
        ttl: int = INTERNAL_TTL,
    ) -> str:
        """A short-lived token for one service calling another (reused while fresh)."""
        cache_key = (
            caller, audience, ttl,
            (member.member_no, member.session_id) if member is not None else None,
            (staff.staff_id, staff.username, tuple(sorted(staff.roles))) if staff is not None else None,
        )
        issued = self._issued.get(cache_key)
        now = time.time()
        if issued is not None and issued[1] - now > ttl / 2:
            return issued[0]
        token = self._issue_internal(caller=caller, audience=audience, member=member, staff=staff, ttl=ttl)
        if len(self._issued) >= CACHE_SIZE:
            self._issued.clear()
        self._issued[cache_key] = (token, now + ttl)
        return token

    def _issue_internal(
        self, *, caller: str, audience: str, member: MemberPrincipal | None, staff: StaffPrincipal | None,
        ttl: int,
    ) -> str:
        claims: dict[str, Any] = {"sub": caller, "aud": audience}
        if member is not None:
            claims["member_no"] = member.member_no
            if member.session_id:
                claims["sid"] = member.session_id
        if staff is not None:
            claims["staff"] = {"id": staff.staff_id, "name": staff.username, "roles": sorted(staff.roles)}
        return self._encode("internal", claims, ttl)

    def verify_internal(self, token: str, *, audience: str) -> InternalCaller:
        """Check an internal token addressed to ``audience``."""
        claims = self._decode("internal", token, audience=audience)
        member = (
            MemberPrincipal(member_no=int(claims["member_no"]), session_id=claims.get("sid"))
            if claims.get("member_no") is not None
            else None
        )
        staff_claim = claims.get("staff")
        staff = (
            StaffPrincipal(
                staff_id=int(staff_claim["id"]), username=str(staff_claim.get("name", "")),
                roles=frozenset(staff_claim.get("roles", [])),
            )
            if staff_claim
            else None
        )
        return InternalCaller(caller=str(claims["sub"]), member=member, staff=staff)


def bearer_token(request: Request) -> str | None:
    """The bearer token of a request, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def _internal_caller(request: Request) -> InternalCaller:
    # No caching on request.state: FastAPI already resolves this once per
    # request, and some ASGI hosts share the state dict between requests.
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("This endpoint needs an internal service token.", slug="internal-token-required")
    runtime = request.app.state.runtime
    caller: InternalCaller = runtime.tokens.verify_internal(token, audience=runtime.settings.service_name)
    return caller


async def _current_member(caller: Annotated[InternalCaller, Depends(_internal_caller)]) -> MemberPrincipal:
    if caller.member is None:
        raise Unauthorized("请先在小程序中登录。", slug="member-required")
    return caller.member


async def _current_staff(caller: Annotated[InternalCaller, Depends(_internal_caller)]) -> StaffPrincipal:
    if caller.staff is None:
        raise Unauthorized("请先登录运营后台。", slug="staff-required")
    return caller.staff


InternalCallerDep = Annotated[InternalCaller, Depends(_internal_caller)]
CurrentMember = Annotated[MemberPrincipal, Depends(_current_member)]
CurrentStaff = Annotated[StaffPrincipal, Depends(_current_staff)]


# Staff roles as operators name them (problem details are read by staff in the console).
ROLE_LABELS = {"admin": "管理员", "operator": "运营", "sales": "销售", "viewer": "只读"}


def require_roles(*roles: str) -> Any:
    """Dependency: the staff caller must hold one of ``roles``."""

    async def check(staff: CurrentStaff) -> StaffPrincipal:
        if not staff.has_any(*roles):
            raise Forbidden(
                f"当前角色无权执行此操作（需要：{'、'.join(ROLE_LABELS.get(r, r) for r in roles)}）。",
                slug="role-required", title="Role required", extra={"roles_required": list(roles)},
            )
        return staff

    return Depends(check)
