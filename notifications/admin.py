"""Admin for contact methods, rules, channels, templates and the delivery log.

Changes go through the services: addresses are validated by their transport,
new contact methods get a verification code, templates are checked in the
sandbox before they are saved.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import Count, Model, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from config.admin import ReadOnlyAdmin, ReadOnlyInline
from config.admin_actions import apply_each
from config.auth import request_actor
from incidents.admin.core import incident_admin_inline_add
from incidents.admin.scoping import TeamScopedAdmin
from incidents.formatting import when
from incidents.selectors import service_list, team_list
from notifications import selectors, services
from notifications.exceptions import NotificationError
from notifications.models import (
    Channel,
    ContactMethod,
    ContactTest,
    ContactTestRound,
    Delivery,
    MessageTemplate,
    NotificationRule,
    Subscription,
)
from notifications.rendering import (
    CONTEXT_DEFAULTS,
    builtin_source,
    render_message,
    sample_context,
    validate_template,
)

M = TypeVar("M", bound=Model)
STATUS_COLOURS: dict[str, str] = {
    Delivery.Status.SENT: "#15803d",
    Delivery.Status.FAILED: "#b91c1c",
    Delivery.Status.PENDING: "#a16207",
    Delivery.Status.SENDING: "#1d4ed8",
}


def _field_errors(form: forms.ModelForm, error: NotificationError) -> None:
    field = str(error.details.get("field", ""))
    form.add_error(field if field in form.fields else None, error.message)


class ContactMethodForm(forms.ModelForm):
    verification_code = forms.CharField(
        required=False,
        max_length=16,
        help_text="The code Vigil sent to this address (action: send a new code).",
    )

    class Meta:
        model = ContactMethod
        fields = [
            "user",
            "kind",
            "label",
            "address",
            "rate_limit_count",
            "rate_limit_window",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None and not self.errors:
            try:
                self.instance = services.contact_method_create(
                    user=data["user"],
                    kind=data["kind"],
                    address=data["address"],
                    label=data.get("label", ""),
                )
                # What the service stored (a normalised address, the code it
                # sent) is what the form saves after this.
                self.instance.refresh_from_db()
                data["address"] = self.instance.address
            except NotificationError as error:
                _field_errors(self, error)
        code = str(data.get("verification_code") or "").strip()
        if self.instance.pk is not None and code:
            try:
                # The verified row is what the form saves its edits onto.
                self.instance = services.contact_method_verify(
                    contact_method=self.instance, code=code
                )
            except NotificationError as error:
                self.add_error("verification_code", error.message)
        return data


class OwnRowsAdmin(TeamScopedAdmin):
    """Only a superuser may pick another user or another user's method."""

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        user = request.user
        if not user.is_superuser:
            if db_field.name == "user":
                kwargs["queryset"] = User.objects.filter(pk=user.pk or 0)
            elif db_field.name == "contact_method":
                kwargs["queryset"] = selectors.contact_method_list(user=user)
            elif db_field.name == "team":
                kwargs["queryset"] = team_list(user=user)
            elif db_field.name == "service":
                kwargs["queryset"] = service_list(user=user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ContactMethod)
class ContactMethodAdmin(OwnRowsAdmin):
    form = ContactMethodForm
    list_display = [
        "user",
        "kind",
        "label",
        "display_address",
        "verified_at",
        "contact_test",
    ]
    list_filter = [
        "kind",
        ("verified_at", admin.EmptyFieldListFilter),
        ("unconfirmed_since", admin.EmptyFieldListFilter),
    ]
    search_fields = ["user__username", "label", "address"]
    readonly_fields = [
        "verified_at",
        "verification_sent_at",
        "contact_test",
        "secret",
    ]
    actions = ["send_code", "send_test", "start_contact_test"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ContactMethod]:
        return selectors.contact_method_list(user=request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fixed = ["user", "kind", "address"] if obj is not None else []
        return [*fixed, *self.readonly_fields]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_fields(request, obj)
        unverified = obj is not None and obj.verified_at is None
        return [f for f in fields if unverified or f != "verification_code"]

    def delete_model(self, request: HttpRequest, obj: ContactMethod) -> None:
        services.contact_method_delete(contact_method=obj)

    def delete_queryset(
        self, request: HttpRequest, queryset: QuerySet[ContactMethod]
    ) -> None:
        for method in queryset:
            services.contact_method_delete(contact_method=method)

    @admin.action(description="Send a new verification code")
    def send_code(
        self, request: HttpRequest, queryset: QuerySet[ContactMethod]
    ) -> None:
        send = services.contact_method_send_verification
        apply_each(
            request, self, queryset, "Codes sent", lambda m: send(contact_method=m)
        )

    @admin.display(description="Contact test", ordering="unconfirmed_since")
    def contact_test(self, method: ContactMethod) -> str:
        if method.unconfirmed_since is not None:
            return f"unconfirmed since {when(method.unconfirmed_since)}"
        if method.test_confirmed_at is not None:
            return f"confirmed {when(method.test_confirmed_at)}"
        return "not tested yet"

    @admin.action(description="Start a contact test (confirm link) now")
    def start_contact_test(
        self, request: HttpRequest, queryset: QuerySet[ContactMethod]
    ) -> None:
        started = services.contact_test_round_start(
            methods=queryset, by=request_actor(request)
        )
        count = started.tests.count() if started is not None else 0
        self.message_user(
            request,
            f"Contact test sent to {count} verified method"
            f"{'s' if count != 1 else ''}; unverified ones are skipped.",
        )

    @admin.action(description="Send a test message")
    def send_test(
        self, request: HttpRequest, queryset: QuerySet[ContactMethod]
    ) -> None:
        send = services.contact_method_send_test
        apply_each(
            request, self, queryset, "Tests sent", lambda m: send(contact_method=m)
        )


class NotificationRuleForm(forms.ModelForm):
    class Meta:
        model = NotificationRule
        fields = ["user", "urgency", "contact_method", "delay"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None and not self.errors:
            try:
                self.instance = services.notification_rule_create(
                    user=data["user"],
                    contact_method=data["contact_method"],
                    urgency=data["urgency"],
                    delay=data["delay"],
                )
            except NotificationError as error:
                _field_errors(self, error)
        return data


@admin.register(NotificationRule)
class NotificationRuleAdmin(OwnRowsAdmin):
    form = NotificationRuleForm
    list_display = ["user", "urgency", "delay", "contact_method"]
    list_filter = ["urgency"]
    search_fields = ["user__username"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[NotificationRule]:
        return selectors.notification_rule_list(user=request.user)


class ChannelForm(forms.ModelForm):
    class Meta:
        model = Channel
        fields = [
            "name",
            "kind",
            "address",
            "team",
            "service",
            "minimum_severity",
            "on_initial",
            "on_update",
            "on_resolution",
            "enabled",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            if self.instance.pk is None:
                self.instance = services.channel_create(**data)
            else:
                changes = {k: data[k] for k in self.changed_data if k in data}
                self.instance = services.channel_update(
                    channel=self.instance, **changes
                )
        except NotificationError as error:
            _field_errors(self, error)
        return data


@admin.register(Channel)
class ChannelAdmin(OwnRowsAdmin):
    form = ChannelForm
    list_display = ["name", "kind", "display_address", "team", "service", "enabled"]
    list_filter = ["kind", "enabled", "team"]
    search_fields = ["name"]
    readonly_fields = ["secret"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Channel]:
        return selectors.channel_list(user=request.user)


class SubscriptionForm(forms.ModelForm):
    class Meta:
        model = Subscription
        fields = [
            "service",
            "contact_method",
            "channel",
            "on_initial",
            "on_update",
            "on_resolution",
            "drills",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        flags = ("on_initial", "on_update", "on_resolution", "drills")
        try:
            if self.instance.pk is None:
                self.instance = services.subscription_create(by=None, **data)
            else:
                changes = {k: data[k] for k in self.changed_data if k in flags}
                self.instance = services.subscription_update(
                    subscription=self.instance, **changes
                )
        except NotificationError as error:
            _field_errors(self, error)
        return data


@admin.register(Subscription)
class SubscriptionAdmin(OwnRowsAdmin):
    """Internal stakeholders: who hears of a service's incidents."""

    form = SubscriptionForm
    list_display = [
        "service",
        "contact_method",
        "channel",
        "on_initial",
        "on_update",
        "on_resolution",
        "drills",
    ]
    list_filter = ["service", "drills"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscription]:
        return selectors.subscription_list(user=request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["service", "contact_method", "channel"] if obj is not None else []

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "channel":
            kwargs["queryset"] = selectors.channel_list(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


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


# The public status page's branding and subscribers register themselves.
import notifications.statuspage.admin  # noqa: E402, F401
