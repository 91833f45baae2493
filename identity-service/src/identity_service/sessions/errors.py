"""Problems of mini-program sessions."""

from shared.errors import Unauthorized


def refresh_token_invalid() -> Unauthorized:
    """Unknown or expired refresh token."""
    return Unauthorized(
        "登录已过期，请重新登录。", slug="refresh-token-invalid", title="Refresh token invalid or expired"
    )


def refresh_token_reused() -> Unauthorized:
    """A refresh token was presented twice: the family is revoked."""
    return Unauthorized(
        "登录状态异常，已退出登录，请重新登录。", slug="refresh-token-reused", title="Refresh token reused"
    )


def session_revoked() -> Unauthorized:
    """The session behind the caller's token was revoked."""
    return Unauthorized("登录已失效，请重新登录。", slug="session-revoked", title="Session revoked")
