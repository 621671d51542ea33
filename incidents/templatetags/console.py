"""Times and names on the responders' console.

A time is a `<time>` element: the server writes it in Vigil's zone with the
zone named, and the console's script rewrites it in the viewer's own zone,
naming that zone.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from incidents.console import user_name

register = template.Library()


@register.simple_tag
def moment(at: datetime | None, seconds: bool = False) -> SafeString:
    """Render `at` as a `<time>` the script puts in the viewer's zone."""
    if at is None:
        return format_html("{}", "—")
    local = timezone.localtime(at)
    shown = local.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")
    return format_html(
        '<time datetime="{}" data-local="{}">{}</time>',
        at.isoformat(),
        "seconds" if seconds else "minutes",
        shown,
    )


@register.filter
def person(user: User | None) -> str:
    return user_name(user)
