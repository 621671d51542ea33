"""Admin for the delivery log (also inline on each incident) and the
contact-method test rounds."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from config.admin import ReadOnlyAdmin, ReadOnlyInline
from config.admin_actions import apply_each
from incidents.admin.core import incident_admin_inline_add
from incidents.admin.scoping import TeamScopedAdmin
from notifications import selectors, services
from notifications.models import (
    ContactTest,
    ContactTestRound,
    Delivery,
)

STATUS_COLOURS: dict[str, str] = {
    Delivery.Status.SENT: "#15803d",
    Delivery.Status.FAILED: "#b91c1c",
    Delivery.Status.PENDING: "#a16207",
    Delivery.Status.SENDING: "#1d4ed8",
}


@admin.register(Delivery)
class DeliveryAdmin(TeamScopedAdmin):
    list_display = [
        "created_at",
        "badge",
        "purpose",
        "incident",
        "user",
        "kind",
        "display_destination",
        "attempts",
        "sent_at",
    ]
    list_filter = ["status", "kind", "purpose", "message_kind"]
    search_fields = ["incident__public_id", "user__username", "event_key"]
    list_select_related = ["incident", "user"]
    date_hierarchy = "created_at"
    actions = ["retry"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return selectors.delivery_list(user=request.user)

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Delivery | None:
        # Links and codes in the message are for its recipient only.
        delivery = super().get_object(request, object_id, from_field)
        if delivery is None:
            return None
        return selectors.delivery_as_seen_by(delivery=delivery, viewer=request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        visible = selectors.provider_responses_visible(user=request.user)
        return [] if visible else ["provider_response"]

    @admin.display(description="Status", ordering="status")
    def badge(self, delivery: Delivery) -> SafeString:
        return format_html(
            '<span style="color:{};font-weight:600">{}</span>',
            STATUS_COLOURS.get(delivery.status, "#6b7280"),
            delivery.get_status_display(),
        )

    @admin.action(description="Send again (failed or cancelled)", permissions=["view"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        retry = services.delivery_retry
        apply_each(request, self, queryset, "Queued again", lambda d: retry(delivery=d))


class DeliveryInline(ReadOnlyInline):
    model = Delivery
    fields = [
        "created_at",
        "purpose",
        "user",
        "kind",
        "status",
        "attempts",
        "sent_at",
        "error",
    ]
    ordering = ["created_at", "id"]
    verbose_name_plural = "Deliveries (pages and channel messages)"


incident_admin_inline_add(DeliveryInline)


class ContactTestInline(ReadOnlyInline):
    model = ContactTest
    fields = [
        "contact_method",
        "created_at",
        "confirmed_at",
        "confirmed_via",
        "reminded_at",
        "reported_at",
        "reported_to",
    ]
    ordering = ["contact_method_id"]


@admin.register(ContactTestRound)
class ContactTestRoundAdmin(ReadOnlyAdmin):
    """Every contact-method test round, for superusers (it names everyone)."""

    list_display = ["key", "started_at", "started_by", "tested", "unconfirmed"]
    inlines = [ContactTestInline]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(getattr(request.user, "is_superuser", False))

    def get_queryset(self, request: HttpRequest) -> QuerySet[ContactTestRound]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                tested=Count("tests"),
                unconfirmed=Count("tests", filter=Q(tests__confirmed_at__isnull=True)),
            )
        )

    @admin.display(description="methods tested")
    def tested(self, row: Any) -> int:
        return int(row.tested)

    @admin.display(description="unconfirmed")
    def unconfirmed(self, row: Any) -> int:
        return int(row.unconfirmed)
