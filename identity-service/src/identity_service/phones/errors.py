"""Problems of phone binding and decryption."""

from shared.errors import Conflict, Invalid, NotFound


def phone_bound_elsewhere() -> Conflict:
    """The phone belongs to another member; staff will review the pair."""
    return Conflict(
        "该手机号已绑定其他学号，已提交人工核对。",
        slug="phone-bound-to-another-member",
        title="Phone bound to another member",
    )


def decrypt_failed() -> Invalid:
    """encryptedData does not open with the member's session_key (or is not ours)."""
    return Invalid(
        "数据解密失败，请重新登录后再试。",
        slug="encrypted-data-invalid",
        title="encryptedData cannot be decrypted",
    )


def no_session() -> NotFound:
    """The member never signed in to the mini-program: there is no session_key."""
    return NotFound(
        "没有可用的小程序登录会话，请重新登录。", slug="no-mp-session", title="No mini-program session"
    )


def phone_data_invalid() -> Invalid:
    """WeChat's phone answer lacks the number."""
    return Invalid("手机号数据无效，请重新授权。", slug="phone-data-invalid", title="Phone data invalid")
