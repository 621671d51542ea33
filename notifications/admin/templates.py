"""Admin for message templates: each is checked in the sandbox before it is
saved, and shown rendered against a sample incident."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.html import format_html
from django.utils.safestring import SafeString

from notifications.models import (
    MessageTemplate,
)
from notifications.rendering import (
    CONTEXT_DEFAULTS,
    builtin_source,
    render_message,
    sample_context,
    validate_template,
)


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["kind", "format", "source", "enabled"]
        widgets = {"source": forms.Textarea(attrs={"rows": 18, "cols": 100})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = self.initial.get("kind") or MessageTemplate.MessageKind.INITIAL
        fmt = self.initial.get("format") or MessageTemplate.Format.CHAT
        if not self.instance.pk and not self.initial.get("source"):
            self.initial["source"] = builtin_source(kind, fmt)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if {"kind", "format", "source"} <= set(data):
            kind, fmt, source = data["kind"], data["format"], data["source"]
            for error in validate_template(kind=kind, format=fmt, source=source):
                self.add_error("source", error)
            if _page_sms_without_code(kind, fmt, source):
                self.add_error(
                    "source",
                    "an SMS page must carry its ACK code, or nobody can "
                    "acknowledge by reply: include {{ sms_code }}, e.g. "
                    "'Reply ACK {{ sms_code }} to acknowledge.'",
                )
        return data


def _page_sms_without_code(kind: str, format: str, source: str) -> bool:
    return (
        kind == MessageTemplate.MessageKind.PAGE
        and format == MessageTemplate.Format.SHORT
        and bool(source.strip())
        and "sms_code" not in source
    )


def _variables(values: dict[str, Any], prefix: str = "") -> list[str]:
    """Every name a template may use, dotted: incident.title, links.acknowledge."""
    names: list[str] = []
    for key, value in values.items():
        if isinstance(value, dict):
            names += _variables(value, f"{prefix}{key}.")
        else:
            names.append(f"{prefix}{key}")
    return names


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ["kind", "format", "enabled", "updated_at", "last_error_at"]
    list_filter = ["kind", "format", "enabled"]
    readonly_fields = ["preview", "variables", "builtin", "last_error", "last_error_at"]

    @admin.display(description="Preview with sample data (as saved)")
    def preview(self, template: MessageTemplate) -> SafeString:
        if not template.pk:
            return format_html("{}", "shown once saved")
        rendered = render_message(
            kind=template.kind,
            context=sample_context(template.kind),
            overrides={template.format: template.source},
        )
        text = getattr(rendered.message, template.format)
        problems = "; ".join(rendered.errors)
        return format_html(
            '<pre style="white-space:pre-wrap;margin:0">{}</pre>{}',
            text,
            format_html('<p class="errornote">{}</p>', problems) if problems else "",
        )

    @admin.display(description="Variables")
    def variables(self, template: MessageTemplate) -> str:
        return ", ".join(_variables(CONTEXT_DEFAULTS))

    @admin.display(description="Built-in template (used when this one is off or fails)")
    def builtin(self, template: MessageTemplate) -> SafeString:
        source = builtin_source(template.kind, template.format) if template.pk else ""
        return format_html(
            '<pre style="white-space:pre-wrap;margin:0">{}</pre>', source
        )
