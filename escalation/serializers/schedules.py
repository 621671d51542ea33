"""Shapes of the schedules API: input parsing and output only."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import StrictInputSerializer, UserSummarySerializer
from escalation import oncall
from escalation.models import (
    CalendarFeed,
    Layer,
    Override,
    Restriction,
    Schedule,
    ShiftUnit,
    Weekday,
)
from escalation.models.schedules import MAX_SHIFT_COUNT
from escalation.selectors import ShiftDetail, schedule_people
from escalation.services import LayerInput
from escalation.services.schedules import MAX_MEMBERS, MAX_RESTRICTIONS
from incidents.models import Team
from incidents.serializers.fields import VisibleTeamField, VisibleUserField

User = get_user_model()
MAX_LAYERS = 50
MAX_SHIFTS = 500
SHIFT_SOURCES = [("layer", "A layer's rotation"), ("override", "An override")]


class InstantField(serializers.DateTimeField):
    """An instant with its UTC offset; a time without one is refused, not guessed."""

    default_error_messages = {
        "naive": "Give the time with an offset, like +02:00, or Z for UTC.",
        "range": "Give a time between 1970 and 2200.",
    }

    def enforce_timezone(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            self.fail("naive")
        if not oncall.EARLIEST <= value < oncall.LATEST:
            self.fail("range")
        return super().enforce_timezone(value)


class QueryInstantField(InstantField):
    """An `InstantField` in a query string, where an unencoded + became a space."""

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            value = re.sub(r" (\d\d(:?\d\d)?)$", r"+\1", value.strip())
        return super().to_internal_value(value)


def _member_field(**kwargs: Any) -> Any:
    return VisibleUserField(**kwargs)


# --- Output ----------------------------------------------------------------------


class RestrictionSerializer(serializers.ModelSerializer[Restriction]):
    class Meta:
        model = Restriction
        fields = ["start_day", "start_time", "end_day", "end_time"]


class LayerSerializer(serializers.ModelSerializer[Layer]):
    members = serializers.SerializerMethodField()
    restrictions = RestrictionSerializer(many=True, read_only=True)

    class Meta:
        model = Layer
        fields = [
            "id",
            "name",
            "position",
            "start_date",
            "handoff_time",
            "shift_count",
            "shift_unit",
            "members",
            "restrictions",
        ]

    @extend_schema_field(UserSummarySerializer(many=True))
    def get_members(self, layer: Layer) -> list[dict[str, Any]]:
        users = [member.user for member in layer.members.all()]
        return list(UserSummarySerializer(users, many=True).data)


def _absolute(context: dict[str, Any], path: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


class ScheduleSerializer(serializers.ModelSerializer[Schedule]):
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    layers = LayerSerializer(many=True, read_only=True)
    ical_url = serializers.SerializerMethodField()

    class Meta:
        model = Schedule
        fields = [
            "id",
            "name",
            "team",
            "time_zone",
            "description",
            "layers",
            "ical_url",
            "created_at",
        ]

    def get_ical_url(self, schedule: Schedule) -> str:
        path = reverse("ical-schedule", args=[schedule.ical_token])
        return _absolute(self.context, path)


class OverrideSerializer(serializers.ModelSerializer[Override]):
    user = UserSummarySerializer(read_only=True)
    covered_user = UserSummarySerializer(read_only=True, allow_null=True)
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Override
        fields = [
            "id",
            "user",
            "covered_user",
            "start",
            "end",
            "reason",
            "swap_of",
            "created_by",
            "created_at",
        ]


class LayerRefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ShiftSerializer(serializers.Serializer[Any]):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    user = UserSummarySerializer()
    source = serializers.ChoiceField(SHIFT_SOURCES)  # type: ignore[assignment]
    layer = LayerRefSerializer(allow_null=True)
    override = serializers.SerializerMethodField()

    def get_override(self, shift: ShiftDetail) -> int | None:
        return shift.override.pk if shift.override is not None else None


class OncallSerializer(serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    users = UserSummarySerializer(many=True)
    shifts = ShiftSerializer(many=True)


class CalendarFeedSerializer(serializers.ModelSerializer[CalendarFeed]):
    url = serializers.SerializerMethodField()

    class Meta:
        model = CalendarFeed
        fields = ["url", "created_at"]

    def get_url(self, feed: CalendarFeed) -> str:
        return _absolute(self.context, reverse("ical-user", args=[feed.token]))


# --- Input -----------------------------------------------------------------------


class RestrictionInputSerializer(StrictInputSerializer):
    """A weekly window of local time: weekdays 0 (Monday) to 6 (Sunday)."""

    start_day = serializers.ChoiceField(Weekday.choices)
    start_time = serializers.TimeField()
    end_day = serializers.ChoiceField(Weekday.choices)
    end_time = serializers.TimeField()

    def validate(self, attrs: dict[str, Any]) -> Any:
        return oncall.Window(**attrs)


class LayerInputSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=100)
    start_date = serializers.DateField(help_text="Local date of the first hand-off.")
    handoff_time = serializers.TimeField(help_text="Local time of the hand-offs.")
    shift_count = serializers.IntegerField(
        min_value=1, max_value=MAX_SHIFT_COUNT, default=1
    )
    shift_unit = serializers.ChoiceField(ShiftUnit.choices, default=ShiftUnit.WEEKS)
    members = _member_field(
        many=True, allow_empty=True, help_text="Usernames in turn order; may repeat."
    )
    restrictions: serializers.ListSerializer[Any] = serializers.ListSerializer(
        child=RestrictionInputSerializer(), required=False, max_length=MAX_RESTRICTIONS
    )

    def validate_members(self, members: list[Any]) -> list[Any]:
        if len(members) > MAX_MEMBERS:
            raise serializers.ValidationError(f"At most {MAX_MEMBERS} turns.")
        return members

    def validate(self, attrs: dict[str, Any]) -> Any:
        return LayerInput(**attrs)


class ScheduleInputSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=100)
    team = VisibleTeamField()
    time_zone = serializers.CharField(
        max_length=64, help_text="IANA name, like Europe/Berlin."
    )
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=5000
    )
    layers: serializers.ListSerializer[Any] = serializers.ListSerializer(
        child=LayerInputSerializer(),
        required=False,
        max_length=MAX_LAYERS,
        help_text="Lowest priority first: a later layer wins where it has someone. "
        "In a change, the layers given replace all the schedule's layers.",
    )


class ScheduleUpdateSerializer(ScheduleInputSerializer):
    name = serializers.CharField(max_length=100, required=False)
    time_zone = serializers.CharField(max_length=64, required=False)
    team = None  # type: ignore[assignment]


class OverrideInputSerializer(StrictInputSerializer):
    user = _member_field(help_text="Username of who is on call.")
    covered_user = VisibleUserField(
        among=schedule_people,
        required=False,
        allow_null=True,
        help_text="Whom they replace; leave out to replace whoever is on call.",
    )
    start = InstantField()
    end = InstantField()
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class SwapSideSerializer(StrictInputSerializer):
    user = _member_field()
    start = InstantField()
    end = InstantField()


class SwapInputSerializer(StrictInputSerializer):
    """`second.user` takes over `first`'s time and `first.user` takes `second`'s."""

    first = SwapSideSerializer()
    second = SwapSideSerializer()
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class OncallQuerySerializer(serializers.Serializer[Any]):
    at = QueryInstantField(required=False, help_text="Default: now.")


class ShiftsQuerySerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField(min_value=1, max_value=MAX_SHIFTS, default=10)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        # `from` is a keyword in Python, so it cannot be a class attribute.
        fields["from"] = QueryInstantField(required=False, help_text="Default: now.")
        return fields
