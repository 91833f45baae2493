"""Consumers: WeChat's pushes (ledger, deliveries), identity (openids, follows, merges), tagging (blocklist)."""

from __future__ import annotations

from messaging_service.audience import handlers as audience
from messaging_service.automations.handlers import handlers as automation_handlers
from messaging_service.ledger import handlers as ledger
from messaging_service.messages import handlers as deliveries
from shared.kafka.consumer import ConsumerSpec
from shared.kafka.topics import CAMPAIGN_EVENTS, IDENTITY_EVENTS, TAGGING_EVENTS, WECHAT_INBOUND
from shared.runtime import ServiceRuntime


def consumers(runtime: ServiceRuntime) -> list[ConsumerSpec]:
    """The messaging service's consumers."""
    automations = automation_handlers(runtime.extras.get("clock"), getattr(runtime.settings, "timezone",
                                                                           "Asia/Shanghai"))
    return [
        ConsumerSpec(
            name="ledger",
            topics=[WECHAT_INBOUND],
            handlers={
                "wechat.inbound.subscribed": ledger.on_subscribed,
                "wechat.inbound.unsubscribed": ledger.on_unsubscribed,
                "wechat.inbound.scanned": ledger.on_scanned,
                "wechat.inbound.message": ledger.on_message,
                "wechat.inbound.menu_clicked": ledger.on_menu,
                "wechat.inbound.session_entered": ledger.on_session,
                "wechat.inbound.payment_succeeded": ledger.on_payment,
                "wechat.inbound.subscribe_popup": ledger.on_popup,
                "wechat.inbound.template_send_finished": deliveries.on_template_finished,
                "wechat.inbound.subscribe_sent": deliveries.on_subscribe_sent,
            },
        ),
        ConsumerSpec(
            name="audience",
            topics=[IDENTITY_EVENTS],
            handlers={
                "identity.member.created": audience.on_created,
                "identity.member.identity_linked": audience.on_linked,
                "identity.member.followed": automations.pop("identity.member.followed"),
                "identity.member.unfollowed": audience.on_unfollowed,
                "identity.member.merged": audience.on_merged,
            },
        ),
        ConsumerSpec(name="campaign", topics=[CAMPAIGN_EVENTS], handlers=automations),
        ConsumerSpec(
            name="blocklist",
            topics=[TAGGING_EVENTS],
            handlers={
                "tagging.member.blocked": audience.on_blocked,
                "tagging.member.unblocked": audience.on_unblocked,
            },
        ),
    ]
