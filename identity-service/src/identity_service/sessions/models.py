"""Mini-program sessions (one per login: the refresh-token family) and their refresh tokens."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, LargeBinary, Text, func
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import Uuid

from identity_service.models import Base


class MpSession(Base):
    """One mini-program login: its encrypted session_key and the refresh-token family."""

    __tablename__ = "mp_sessions"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    member_no: Mapped[int] = mapped_column(BigInteger, ForeignKey("members.member_no"))
    appid: Mapped[str] = mapped_column(Text)
    openid: Mapped[str] = mapped_column(Text)
    # AES-GCM under the field key; never leaves this service.
    session_key_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_mp_sessions_member_latest", "member_no", "appid", "created_at"),)


class RefreshToken(Base):
    """One refresh token of a session; only its digest is stored."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    session_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("mp_sessions.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set when the token was exchanged; presenting it again is reuse.
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
