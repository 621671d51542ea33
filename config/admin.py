"""Admin pieces every app uses: read-only records and inlines, JSON shown."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString


def pretty_json(value: object, limit: int = 20_000) -> SafeString:
    """Return JSON indented in a <pre>, cut at `limit` characters."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    if len(text) > limit:
        text = text[:limit] + "\n… (cut)"
    return format_html('<pre style="white-space:pre-wrap;margin:0">{}</pre>', text)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened: looked at, never edited."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
