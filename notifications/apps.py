from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from notifications import receivers, timeline_kinds  # noqa: F401  (registers)
        from notifications.models import MessageTemplate
        from notifications.services.messages import overrides_forget
        from notifications.statuspage import receivers as statuspage_receivers

        # Other processes see an edit when their short cache expires.
        post_save.connect(overrides_forget, sender=MessageTemplate)
        post_delete.connect(overrides_forget, sender=MessageTemplate)
        receivers.connect()
        statuspage_receivers.connect()
