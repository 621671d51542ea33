"""Shapes of the notifications API: input parsing and output only."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from config.serializers import StrictInputSerializer, VisibleIdField
from incidents.models import Incident, Service, SeverityLevel, Team
from incidents.serializers.fields import (
    SeverityCodeField,
    VisibleServiceField,
    VisibleTeamField,
)
from notifications import selectors
from notifications.models import (
    CHANNEL_KINDS,
    Channel,
    ContactMethod,
    Delivery,
    Kind,
    NotificationRule,
    Subscription,
    Urgency,
)
from notifications.selectors import delivery_as_seen_by


class ContactMethodSerializer(serializers.ModelSerializer[ContactMethod]):
    address = serializers.CharField(source="display_address")
    verified = serializers.SerializerMethodField()
    user = serializers.CharField(source="user.get_username")

    class Meta:
        model = ContactMethod
        fields = [
            "id",
            "user",
            "kind",
            "label",
            "address",
            "verified",
            "verified_at",
            "verification_sent_at",
            "rate_limit_count",
            "rate_limit_window",
            "test_confirmed_at",
            "unconfirmed_since",
            "created_at",
        ]

    def get_verified(self, method: ContactMethod) -> bool:
        return method.verified_at is not None


class ContactMethodCreatedSerializer(ContactMethodSerializer):
    """The one answer that shows the full address and the webhook secret."""

    address = serializers.CharField()
    secret = serializers.CharField()

    class Meta(ContactMethodSerializer.Meta):
        fields = [*ContactMethodSerializer.Meta.fields, "secret"]


class ContactMethodInputSerializer(StrictInputSerializer):
    kind = serializers.ChoiceField(Kind.choices)
    address = serializers.CharField(max_length=2000)
    label = serializers.CharField(  # type: ignore[assignment]
        max_length=100, required=False, allow_blank=True
    )


class VerifySerializer(StrictInputSerializer):
    code = serializers.CharField(max_length=12)


class NotificationRuleSerializer(serializers.ModelSerializer[NotificationRule]):
    class Meta:
        model = NotificationRule
        fields = ["id", "urgency", "contact_method", "delay"]


class OwnContactMethodField(serializers.PrimaryKeyRelatedField[ContactMethod]):
    """A contact method given by id, among the caller's own: someone else's
    is "does not exist", as an id nobody has."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=ContactMethod.objects.all(), **kwargs)

    def get_queryset(self) -> Any:
        return selectors.contact_method_list(user=self.context["request"].user)


class NotificationRuleInputSerializer(StrictInputSerializer):
    urgency = serializers.ChoiceField(Urgency.choices)
    contact_method = OwnContactMethodField()
    delay = serializers.DurationField(required=False)

    def validate_contact_method(self, method: ContactMethod) -> ContactMethod:
        if method.user_id != self.context["request"].user.pk:
            raise serializers.ValidationError("Not one of your contact methods.")
        return method


class ChannelSerializer(serializers.ModelSerializer[Channel]):
    address = serializers.CharField(source="display_address")
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    service: serializers.SlugRelatedField[Service] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    minimum_severity: serializers.SlugRelatedField[SeverityLevel] = (
        serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    )

    class Meta:
        model = Channel
        fields = [
            "id",
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
            "created_at",
        ]


class ChannelCreatedSerializer(ChannelSerializer):
    address = serializers.CharField()
    secret = serializers.CharField()

    class Meta(ChannelSerializer.Meta):
        fields = [*ChannelSerializer.Meta.fields, "secret"]


class ChannelInputSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(CHANNEL_KINDS)
    address = serializers.CharField(max_length=2000)
    team = VisibleTeamField(required=False, allow_null=True)
    service = VisibleServiceField(required=False, allow_null=True)
    minimum_severity = SeverityCodeField(required=False, allow_null=True)
    # A form post leaves out unticked booleans; a channel is on unless told.
    on_initial = serializers.BooleanField(default=True)
    on_update = serializers.BooleanField(default=True)
    on_resolution = serializers.BooleanField(default=True)
    enabled = serializers.BooleanField(default=True)


class ChannelUpdateSerializer(ChannelInputSerializer):
    on_initial = serializers.BooleanField(required=False)
    on_update = serializers.BooleanField(required=False)
    on_resolution = serializers.BooleanField(required=False)
    enabled = serializers.BooleanField(required=False)
    name = serializers.CharField(max_length=100, required=False)
    kind = serializers.ChoiceField(CHANNEL_KINDS, required=False)
    address = serializers.CharField(max_length=2000, required=False)
    team = None  # type: ignore[assignment]
    service = None  # type: ignore[assignment]


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    incident: serializers.SlugRelatedField[Incident] = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True, allow_null=True
    )
    user: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    destination = serializers.CharField(source="display_destination")
    channel: serializers.StringRelatedField[Channel] = serializers.StringRelatedField(
        allow_null=True
    )
    provider_response = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = [
            "id",
            "purpose",
            "message_kind",
            "event_key",
            "incident",
            "user",
            "contact_method",
            "channel",
            "kind",
            "destination",
            "status",
            "due_at",
            "attempts",
            "claimed_at",
            "sent_at",
            "finished_at",
            "bundled_into",
            "provider_status",
            "provider_id",
            "provider_response",
            "error",
            "notes",
            "created_at",
        ]

    def to_representation(self, instance: Delivery) -> dict[str, Any]:
        # Links and codes in the message are for its recipient only.
        request = self.context.get("request")
        viewer = getattr(request, "user", None)
        seen = delivery_as_seen_by(delivery=instance, viewer=viewer)
        return super().to_representation(seen)

    def get_provider_response(self, delivery: Delivery) -> str:
        user = getattr(self.context.get("request"), "user", None)
        visible = selectors.provider_responses_visible(user=user)
        return delivery.provider_response if visible else ""


class SubscriptionSerializer(serializers.ModelSerializer[Subscription]):
    service: serializers.SlugRelatedField[Service] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    user = serializers.CharField(
        source="contact_method.user.get_username", read_only=True, allow_null=True
    )
    channel_name = serializers.CharField(
        source="channel.name", read_only=True, allow_null=True
    )

    class Meta:
        model = Subscription
        fields = [
            "id",
            "service",
            "contact_method",
            "user",
            "channel",
            "channel_name",
            "on_initial",
            "on_update",
            "on_resolution",
            "drills",
            "created_at",
        ]
        read_only_fields = fields


class SubscriptionInputSerializer(StrictInputSerializer):
    service = VisibleServiceField()
    contact_method = VisibleIdField(
        ContactMethod,
        selectors.contact_method_list,
        required=False,
        allow_null=True,
        help_text="One of your own contact methods (email, chat, webhook)…",
    )
    channel = VisibleIdField(
        Channel,
        selectors.channel_list,
        required=False,
        allow_null=True,
        help_text="…or a channel of one of your teams.",
    )
    on_initial = serializers.BooleanField(default=True)
    on_update = serializers.BooleanField(default=True)
    on_resolution = serializers.BooleanField(default=True)
    drills = serializers.BooleanField(
        default=False, help_text="Also drills (their messages say [DRILL])."
    )


class SubscriptionUpdateSerializer(StrictInputSerializer):
    on_initial = serializers.BooleanField(required=False)
    on_update = serializers.BooleanField(required=False)
    on_resolution = serializers.BooleanField(required=False)
    drills = serializers.BooleanField(required=False)
