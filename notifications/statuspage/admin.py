"""Admin: the page's branding, and the public subscribers (read, or remove)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from notifications.models import PublicSubscriber, StatusPage


@admin.register(StatusPage)
class StatusPageAdmin(admin.ModelAdmin):
    list_display = ["name", "logo_url", "accent_color", "header_color", "updated_at"]
    fields = ["name", "logo_url", "accent_color", "header_color", "footer_links"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One page: its branding is one row.
        return super().has_add_permission(request) and not StatusPage.objects.exists()


@admin.register(PublicSubscriber)
class PublicSubscriberAdmin(admin.ModelAdmin):
    list_display = ["display_address", "kind", "confirmed_at", "created_at"]
    list_filter = ["kind", ("confirmed_at", admin.EmptyFieldListFilter)]
    fields = ["kind", "display_address", "services", "confirmed_at", "created_at"]
    readonly_fields = ["kind", "display_address", "services", "confirmed_at"]
    readonly_fields += ["created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people subscribe themselves, confirming their address

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
