"""Admin for notifications, by subject: contact methods, rules, channels and
subscriptions; message templates; the delivery log and contact-method tests;
the public status page's branding and subscribers.

Changes go through the services.
"""

from notifications.admin import contacts, deliveries, templates
from notifications.statuspage import admin as statuspage

__all__ = ["contacts", "deliveries", "statuspage", "templates"]
