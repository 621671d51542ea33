from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "Escalation"

    def ready(self) -> None:
        from escalation import receivers, timeline_kinds  # noqa: F401  (registers)

        receivers.connect()
