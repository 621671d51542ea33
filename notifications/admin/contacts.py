"""Admin for contact methods, notification rules, channels and subscriptions.

Changes go through the services: addresses are validated by their transport
and new contact methods get a verification code. A user sees and picks only
their own rows unless a superuser.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest

from config.admin_actions import apply_each
from config.auth import request_actor
from incidents.admin.scoping import TeamScopedAdmin
from incidents.formatting import when
from incidents.selectors import service_list, team_list
from notifications import selectors, services
from notifications.exceptions import NotificationError
from notifications.models import (
    Channel,
    ContactMethod,
    NotificationRule,
    Subscription,
)


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
