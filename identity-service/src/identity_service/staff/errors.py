"""Problems of staff accounts."""

from shared.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized


def invalid_credentials() -> Unauthorized:
    """Wrong username or password (never says which)."""
    return Unauthorized("用户名或密码错误。", slug="invalid-credentials", title="Invalid credentials")


def account_locked(retry_after: int) -> TooManyRequests:
    """Too many failed logins: locked for a while."""
    minutes = max(retry_after // 60, 1)
    return TooManyRequests(
        f"登录失败次数过多，账号已锁定，请约 {minutes} 分钟后再试。",
        slug="account-locked",
        title="Account locked",
        headers={"Retry-After": str(retry_after)},
    )


def account_disabled() -> Forbidden:
    """The account was disabled by an admin."""
    return Forbidden("该账号已停用，请联系管理员。", slug="account-disabled", title="Account disabled")


def staff_not_found(staff_id: int) -> NotFound:
    """No staff account with this id."""
    return NotFound(f"员工账号 {staff_id} 不存在。", slug="staff-not-found", title="Staff not found")


def username_taken(username: str) -> Conflict:
    """The username is in use."""
    return Conflict(f"用户名 {username} 已被使用。", slug="username-taken", title="Username taken")


def password_too_short(minimum: int) -> Invalid:
    """The password is shorter than the configured minimum."""
    return Invalid(f"密码至少需要 {minimum} 个字符。", slug="password-too-short", title="Password too short")


def last_admin() -> Conflict:
    """The change would leave no enabled admin."""
    return Conflict("至少需要保留一个可用的管理员账号。", slug="last-admin", title="Last admin")


def not_yourself() -> Conflict:
    """Admins cannot disable themselves."""
    return Conflict("不能停用自己的账号。", slug="cannot-disable-self", title="Cannot disable yourself")
