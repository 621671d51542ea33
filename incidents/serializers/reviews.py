"""Shapes of post-incident reviews, action items and repeat links."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import (
    StrictInputSerializer,
    UserSummarySerializer,
    VisibleIdField,
)
from incidents.models import (
    ActionItem,
    Incident,
    IncidentLink,
    PostIncidentReview,
    ReviewReminder,
    RootCauseTag,
)
from incidents.review_checklist import review_checklist
from incidents.review_document import SECTION_FIELDS, blameless_hints
from incidents.selectors import incident_list, root_cause_tag_list
from incidents.serializers.fields import VisibleTeamField, VisibleUserField
from incidents.services.action_items import action_item_completion

State = PostIncidentReview.State


class AfterIncidentItemSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    done = serializers.BooleanField()
    at = serializers.DateTimeField(allow_null=True)
    by = serializers.CharField(allow_null=True, help_text="Username, if by hand.")
    proved = serializers.BooleanField(
        help_text="Ticked by the PIR's own state, not by hand."
    )


class ReminderSerializer(serializers.ModelSerializer[ReviewReminder]):
    class Meta:
        model = ReviewReminder
        fields = ["deadline", "stage", "claimed_at", "recipients", "sent"]
        read_only_fields = fields


class CompletionSerializer(serializers.Serializer[Any]):
    open = serializers.IntegerField()
    done = serializers.IntegerField()
    wont_do = serializers.IntegerField()


class ReviewSerializer(serializers.ModelSerializer[PostIncidentReview]):
    incident = serializers.CharField(source="incident.public_id", read_only=True)
    owner = UserSummarySerializer(read_only=True, allow_null=True)
    waived_by = UserSummarySerializer(read_only=True, allow_null=True)
    attendees = UserSummarySerializer(read_only=True, many=True)
    after_incident = serializers.SerializerMethodField()
    action_items = serializers.SerializerMethodField()
    blameless_hints = serializers.SerializerMethodField()
    reminders = ReminderSerializer(many=True, read_only=True)

    class Meta:
        model = PostIncidentReview
        fields = [
            "incident",
            "state",
            "reason",
            "owner",
            "resolved_at",
            "initial_due_at",
            "meeting_due_at",
            "initial_published_at",
            "meeting_at",
            "meeting_held_at",
            "attendees",
            "published_at",
            "waived_at",
            "waived_by",
            "waive_reason",
            *SECTION_FIELDS,
            "after_incident",
            "action_items",
            "blameless_hints",
            "reminders",
        ]
        read_only_fields = fields

    @extend_schema_field(AfterIncidentItemSerializer(many=True))
    def get_after_incident(self, review: PostIncidentReview) -> Any:
        items = review_checklist(review=review)
        return AfterIncidentItemSerializer(items, many=True).data

    @extend_schema_field(CompletionSerializer)
    def get_action_items(self, review: PostIncidentReview) -> Any:
        return action_item_completion(incident=review.incident)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_blameless_hints(self, review: PostIncidentReview) -> list[str]:
        return blameless_hints(review=review)


def _section() -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, max_length=20_000, trim_whitespace=False
    )


class ReviewUpdateSerializer(StrictInputSerializer):
    owner = VisibleUserField(required=False)
    summary = _section()
    timeline = _section()
    impact = _section()
    root_cause = _section()
    went_well = _section()
    needs_improvement = _section()
    prevention = _section()
    lessons_learned = _section()


class ReviewAdvanceSerializer(StrictInputSerializer):
    state = serializers.ChoiceField(
        [State.DRAFTING, State.INITIAL_PUBLISHED, State.MEETING_HELD, State.PUBLISHED]
    )
    attendees = serializers.ListField(
        child=VisibleUserField(), required=False, max_length=200
    )
    held_at = serializers.DateTimeField(required=False)


class ReviewWaiveSerializer(StrictInputSerializer):
    reason = serializers.CharField(max_length=2000)


class ReviewMeetingSerializer(StrictInputSerializer):
    at = serializers.DateTimeField()
    attendees = serializers.ListField(
        child=VisibleUserField(),
        required=False,
        max_length=200,
        help_text="Usernames; without it, the incident's responders are invited.",
    )


class ActionItemSerializer(serializers.ModelSerializer[ActionItem]):
    incident = serializers.CharField(source="incident.public_id", read_only=True)
    owner = UserSummarySerializer(read_only=True)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "incident",
            "title",
            "description",
            "owner",
            "due_date",
            "priority",
            "status",
            "wont_do_reason",
            "ticket_url",
            "overdue",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_overdue(self, item: ActionItem) -> bool:
        today = self.context.get("today")
        return item.status == ActionItem.Status.OPEN and (
            today is not None and item.due_date < today
        )


class VisibleIncidentField(serializers.SlugRelatedField[Any]):
    """An incident by public id among the caller's teams'."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            slug_field="public_id", queryset=Incident.objects.all(), **kwargs
        )

    def get_queryset(self) -> Any:
        return incident_list(user=self.context["request"].user)


class ActionItemCreateSerializer(StrictInputSerializer):
    incident = VisibleIncidentField()
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    owner = VisibleUserField()
    due_date = serializers.DateField()
    priority = serializers.ChoiceField(
        ActionItem.Priority.choices, default=ActionItem.Priority.MEDIUM
    )
    ticket_url = serializers.URLField(
        required=False, allow_blank=True, default="", max_length=500
    )


class ActionItemUpdateSerializer(StrictInputSerializer):
    title = serializers.CharField(required=False, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    owner = VisibleUserField(required=False)
    due_date = serializers.DateField(required=False)
    priority = serializers.ChoiceField(ActionItem.Priority.choices, required=False)
    ticket_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    status = serializers.ChoiceField(ActionItem.Status.choices, required=False)
    wont_do_reason = serializers.CharField(
        required=False, allow_blank=True, max_length=2000
    )


class ActionItemQuerySerializer(serializers.Serializer[Any]):
    owner = serializers.CharField(
        required=False, help_text="`me`, or a username.", max_length=150
    )
    overdue = serializers.BooleanField(required=False, allow_null=True)
    status = serializers.ChoiceField(ActionItem.Status.choices, required=False)
    incident = serializers.CharField(required=False, max_length=32)


class RootCauseTagSerializer(serializers.ModelSerializer[RootCauseTag]):
    team = VisibleTeamField()
    slug = serializers.SlugField(read_only=True)

    class Meta:
        model = RootCauseTag
        fields = ["id", "team", "name", "slug", "description"]


class TagSetSerializer(StrictInputSerializer):
    tags = serializers.ListField(
        child=VisibleIdField(RootCauseTag, among=root_cause_tag_list),
        max_length=50,
        help_text="Ids of the team's root-cause tags; the list replaces the old one.",
    )


class IncidentLinkSerializer(serializers.ModelSerializer[IncidentLink]):
    incident = serializers.CharField(source="incident.public_id", read_only=True)
    repeats = serializers.CharField(source="repeats.public_id", read_only=True)
    repeats_title = serializers.CharField(source="repeats.title", read_only=True)
    created_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = IncidentLink
        fields = [
            "incident",
            "repeats",
            "repeats_title",
            "reason",
            "detail",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class IncidentLinkCreateSerializer(StrictInputSerializer):
    repeats = VisibleIncidentField(help_text="The earlier incident's public id.")
    note = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=255
    )
