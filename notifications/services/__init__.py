"""Every state change of the notifications app goes through these services."""

from notifications.services.contact_tests import (
    contact_test_confirm_by_link,
    contact_test_confirm_by_sms,
    contact_test_get,
    contact_test_round_start,
    contact_test_round_start_due,
    contact_tests_sweep,
)
from notifications.services.contacts import (
    channel_create,
    channel_update,
    contact_method_create,
    contact_method_create_outbox_email,
    contact_method_delete,
    contact_method_send_test,
    contact_method_send_verification,
    contact_method_verify,
    notification_rule_create,
)
from notifications.services.deliveries import (
    deliveries_cancel,
    deliveries_dispatch_due,
    deliveries_recover,
    delivery_retry,
)
from notifications.services.links import (
    action_link_for_reply,
    action_link_get,
    action_link_use,
    action_links_issue,
)
from notifications.services.paging import (
    notify,
    page_user,
    page_users,
    person_notify,
    remind_user,
)
from notifications.services.sending import deliveries_send, delivery_send
from notifications.services.stakeholders import (
    subscription_create,
    subscription_delete,
    subscription_update,
)

__all__ = [
    "action_link_for_reply",
    "action_link_get",
    "action_link_use",
    "action_links_issue",
    "channel_create",
    "channel_update",
    "contact_method_create",
    "contact_method_create_outbox_email",
    "contact_method_delete",
    "contact_method_send_test",
    "contact_method_send_verification",
    "contact_method_verify",
    "contact_test_confirm_by_link",
    "contact_test_confirm_by_sms",
    "contact_test_get",
    "contact_test_round_start",
    "contact_test_round_start_due",
    "contact_tests_sweep",
    "deliveries_cancel",
    "deliveries_dispatch_due",
    "deliveries_recover",
    "deliveries_send",
    "delivery_retry",
    "delivery_send",
    "notification_rule_create",
    "notify",
    "page_user",
    "page_users",
    "person_notify",
    "remind_user",
    "subscription_create",
    "subscription_delete",
    "subscription_update",
]
