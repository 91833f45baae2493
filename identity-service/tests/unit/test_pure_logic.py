"""Small pure functions: numbers, phones, scenes, locks, apps, request shapes."""

import pytest
from pydantic import ValidationError

from identity_service.apps import WeChatApps
from identity_service.config import IdentitySettings
from identity_service.followers.service import scene_of
from identity_service.locks import lock_id
from identity_service.members.queries import normalized_phone_query
from identity_service.members.service import display_no
from identity_service.phones.schemas import PhoneBind
from identity_service.phones.service import mask, normalized
from identity_service.staff.schemas import StaffCreate, StaffLogin
from shared.errors import NotFound
from shared.wechat.miniprogram import PhoneInfo


def test_member_numbers_display_with_at_least_five_digits():
    assert display_no(10001) == "10001"
    assert display_no(42) == "00042"
    assert display_no(1234567) == "1234567"


@pytest.mark.parametrize(
    ("number", "masked"),
    [("13800138000", "138****8000"), ("91234567", "912*4567"), ("1234", "**34"), ("12", "**")],
)
def test_mask(number, masked):
    assert mask(number) == masked


def test_normalized_phone_accepts_number_or_string_country_codes():
    assert normalized(PhoneInfo("13800138000", "13800138000", "86")) == "+8613800138000"
    assert normalized(PhoneInfo("+1 2025550123", "2025550123", "+1")) == "+12025550123"
    assert normalized(PhoneInfo("13800138000", "13800138000", "")) == "+8613800138000"


def test_phone_search_query_normalisation():
    assert normalized_phone_query("138 0013 8000") == "+8613800138000"
    assert normalized_phone_query("+8613800138000") == "+8613800138000"
    assert normalized_phone_query("10001") is None
    assert normalized_phone_query("oAbc") is None


def test_scene_prefix_is_stripped():
    assert scene_of("qrscene_123") == "123"
    assert scene_of("123") == "123"
    assert scene_of("qrscene_") is None
    assert scene_of(None) is None
    assert scene_of("") is None


def test_lock_ids_are_stable_signed_64_bit_and_distinct():
    a = lock_id("openid", "wx1", "o1")
    assert a == lock_id("openid", "wx1", "o1")
    assert -(2**63) <= a < 2**63
    assert a != lock_id("openid", "wx1", "o2")
    # Parts are separated: ("ab", "c") is not ("a", "bc").
    assert lock_id("ab", "c") != lock_id("a", "bc")


def test_apps_from_settings():
    settings = IdentitySettings(_env_file=None, extra_app_secrets={"wxweb": "s"})
    apps = WeChatApps.from_settings(settings)
    assert apps.mp.appid == settings.mp_appid and apps.oa.appid == settings.oa_appid
    assert apps.require("wxweb").kind == "web"
    assert apps.get("nope") is None
    with pytest.raises(NotFound):
        apps.require("nope")


def test_phone_bind_takes_exactly_one_form():
    assert PhoneBind(code="c").code == "c"
    assert PhoneBind(encrypted_data="e", iv="i").iv == "i"
    for bad in ({}, {"encrypted_data": "e"}, {"code": "c", "iv": "i"}):
        with pytest.raises(ValidationError):
            PhoneBind(**bad)


def test_staff_usernames_are_lower_case():
    assert StaffLogin(username=" Admin ", password="x").username == "admin"
    assert StaffCreate(username="Ops.Li", password="p" * 10, role="operator").username == "ops.li"
    with pytest.raises(ValidationError):
        StaffCreate(username="bad name", password="p" * 10, role="operator")
    with pytest.raises(ValidationError):
        StaffCreate(username="ok", password="p" * 10, role="root")
