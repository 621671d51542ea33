from django.apps import AppConfig


class StatusPageConfig(AppConfig):
    name = "statuspage"
    verbose_name = "Public status page"

    def ready(self) -> None:
        from statuspage import receivers

        receivers.connect()
