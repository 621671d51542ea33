"""Endpoints of post-incident reviews, action items, root-cause tags and
repeat links: parse, call one service, answer."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import COMMON, INVALID, UNAUTHENTICATED, valid_input, valid_query
from config.auth import request_actor
from incidents import selectors
from incidents.models import (
    ActionItem,
    Incident,
    PostIncidentReview,
    RootCauseTag,
)
from incidents.review_document import SECTION_FIELDS, review_download
from incidents.serializers.checklists import ConflictSerializer
from incidents.serializers.core import IncidentSerializer
from incidents.serializers.reviews import (
    ActionItemCreateSerializer,
    ActionItemQuerySerializer,
    ActionItemSerializer,
    ActionItemUpdateSerializer,
    IncidentLinkCreateSerializer,
    IncidentLinkSerializer,
    ReviewAdvanceSerializer,
    ReviewMeetingSerializer,
    ReviewSerializer,
    ReviewUpdateSerializer,
    ReviewWaiveSerializer,
    RootCauseTagSerializer,
    TagSetSerializer,
)
from incidents.services.action_items import action_item_create, action_item_update
from incidents.services.recurrence import (
    incident_link_create,
    incident_root_cause_tags_set,
    root_cause_tag_create,
)
from incidents.services.review_notices import review_meeting_schedule
from incidents.services.reviews import (
    review_advance,
    review_checklist_tick,
    review_update,
    review_waive,
)

REVIEW_CONFLICT = OpenApiResponse(
    ConflictSerializer,
    "The PIR's state does not allow this (it moves one step at a time, and a "
    "published or waived PIR no longer changes).",
)
ITEM_KEY = r"(?P<item>[a-z_]{1,32})"


def _review_schema(request: Any, summary: str) -> Any:
    return extend_schema(
        summary=summary,
        request=request,
        responses={200: ReviewSerializer, 400: INVALID, 409: REVIEW_CONFLICT, **COMMON},
    )


class IncidentReviewViewSet(viewsets.GenericViewSet[Incident]):
    """The PIR of an incident, and what links it to earlier ones."""

    queryset = Incident.objects.none()  # for the schema; see get_queryset
    serializer_class = IncidentSerializer
    lookup_field = "public_id"
    pagination_class = None
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Incident]:
        return selectors.incident_list(user=self.request.user)

    def _review(self) -> PostIncidentReview:
        incident = self.get_object()
        review = PostIncidentReview.objects.filter(incident=incident).first()
        if review is None:
            raise Http404("this incident has no post-incident review")
        return review

    def _answer(self, review: PostIncidentReview) -> Response:
        review.refresh_from_db()
        return Response(ReviewSerializer(review).data)

    @extend_schema(
        summary="The incident's post-incident review",
        responses={200: ReviewSerializer, **COMMON},
    )
    @action(detail=True, methods=["get"])
    def review(self, request: Request, public_id: str) -> Response:
        return self._answer(self._review())

    @_review_schema(ReviewUpdateSerializer, "Edit sections of the PIR or its owner")
    @review.mapping.patch
    def edit_review(self, request: Request, public_id: str) -> Response:
        review = self._review()
        data = valid_input(ReviewUpdateSerializer, request)
        sections = {f: data[f] for f in SECTION_FIELDS if f in data}
        review = review_update(
            review=review,
            by=request_actor(request),
            owner=data.get("owner"),
            sections=sections,
        )
        return self._answer(review)

    @_review_schema(ReviewAdvanceSerializer, "Move the PIR to its next state")
    @action(detail=True, methods=["post"], url_path="review/advance")
    def advance_review(self, request: Request, public_id: str) -> Response:
        review = self._review()
        data = valid_input(ReviewAdvanceSerializer, request)
        review = review_advance(
            review=review,
            to=data["state"],
            by=request_actor(request),
            attendees=data.get("attendees", []),
            held_at=data.get("held_at"),
        )
        return self._answer(review)

    @_review_schema(ReviewWaiveSerializer, "Waive the PIR (IC or team lead)")
    @action(detail=True, methods=["post"], url_path="review/waive")
    def waive_review(self, request: Request, public_id: str) -> Response:
        review = self._review()
        data = valid_input(ReviewWaiveSerializer, request)
        review = review_waive(
            review=review, reason=data["reason"], by=request_actor(request)
        )
        return self._answer(review)

    @_review_schema(
        ReviewMeetingSerializer,
        "Schedule the review meeting and e-mail an iCalendar invitation",
    )
    @action(detail=True, methods=["post"], url_path="review/meeting")
    def schedule_meeting(self, request: Request, public_id: str) -> Response:
        review = self._review()
        data = valid_input(ReviewMeetingSerializer, request)
        review = review_meeting_schedule(
            review=review,
            at=data["at"],
            attendees=data.get("attendees"),
            by=request_actor(request),
        )
        return self._answer(review)

    @extend_schema(
        summary="The PIR as the SOP's Markdown report",
        responses={
            (200, "text/markdown"): OpenApiTypes.STR,
            **COMMON,
        },
    )
    @action(detail=True, methods=["get"], url_path="review/export")
    def export_review(self, request: Request, public_id: str) -> HttpResponse:
        return review_download(review=self._review())

    def _tick(self, request: Request, item: str, *, done: bool) -> Response:
        review = review_checklist_tick(
            review=self._review(), item=item, done=done, by=request_actor(request)
        )
        return self._answer(review)

    @_review_schema(None, "Tick an After Incident item by hand")
    @action(
        detail=True,
        methods=["post"],
        url_path=f"review/after-incident/{ITEM_KEY}/tick",
    )
    def tick_after_incident(
        self, request: Request, public_id: str, item: str
    ) -> Response:
        return self._tick(request, item, done=True)

    @_review_schema(None, "Take back a hand tick of an After Incident item")
    @action(
        detail=True,
        methods=["post"],
        url_path=f"review/after-incident/{ITEM_KEY}/untick",
    )
    def untick_after_incident(
        self, request: Request, public_id: str, item: str
    ) -> Response:
        return self._tick(request, item, done=False)

    @extend_schema(
        summary="The earlier incidents this one repeats",
        responses={200: IncidentLinkSerializer(many=True), **COMMON},
    )
    @action(detail=True, methods=["get"])
    def repeats(self, request: Request, public_id: str) -> Response:
        links = self.get_object().repeat_links.select_related(
            "incident", "repeats", "created_by"
        )
        return Response(IncidentLinkSerializer(links, many=True).data)

    @extend_schema(
        summary="Link by hand: this incident repeats an earlier one",
        request=IncidentLinkCreateSerializer,
        responses={201: IncidentLinkSerializer, 400: INVALID, **COMMON},
    )
    @repeats.mapping.post
    def link_repeat(self, request: Request, public_id: str) -> Response:
        incident = self.get_object()
        data = valid_input(IncidentLinkCreateSerializer, request)
        link = incident_link_create(
            incident=incident,
            repeats=data["repeats"],
            note=data["note"],
            by=request_actor(request),
        )
        return Response(IncidentLinkSerializer(link).data, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Set the incident's root-cause tags (links repeats)",
        request=TagSetSerializer,
        responses={200: IncidentLinkSerializer(many=True), 400: INVALID, **COMMON},
    )
    @action(detail=True, methods=["post"], url_path="root-cause-tags")
    def set_root_cause_tags(self, request: Request, public_id: str) -> Response:
        incident = self.get_object()
        data = valid_input(TagSetSerializer, request)
        incident_root_cause_tags_set(
            incident=incident, tags=data["tags"], by=request_actor(request)
        )
        links = incident.repeat_links.select_related("incident", "repeats")
        return Response(IncidentLinkSerializer(links, many=True).data)


@extend_schema_view(
    list=extend_schema(
        summary="Action items of your teams' incidents",
        parameters=[ActionItemQuerySerializer],
        responses={
            200: ActionItemSerializer(many=True),
            400: INVALID,
            401: UNAUTHENTICATED,
        },
    ),
    retrieve=extend_schema(
        summary="Get an action item", responses={200: ActionItemSerializer, **COMMON}
    ),
    create=extend_schema(
        summary="Add an action item to an incident or its review",
        request=ActionItemCreateSerializer,
        responses={201: ActionItemSerializer, 400: INVALID, **COMMON},
    ),
    partial_update=extend_schema(
        summary="Edit an action item, or mark it done or won't do",
        request=ActionItemUpdateSerializer,
        responses={200: ActionItemSerializer, 400: INVALID, **COMMON},
    ),
)
class ActionItemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[ActionItem],
):
    queryset = ActionItem.objects.none()  # for the schema; see get_queryset
    serializer_class = ActionItemSerializer
    filter_backends: list[Any] = []
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def get_queryset(self) -> QuerySet[ActionItem]:
        items = selectors.action_item_list(user=self.request.user)
        if self.action != "list":
            return items
        query = valid_query(ActionItemQuerySerializer, self.request)
        owner = query.get("owner")
        if owner == "me":
            items = items.filter(owner=request_actor(self.request))
        elif owner:
            items = items.filter(owner__username=owner)
        if query.get("overdue") is not None:
            late = {"status": ActionItem.Status.OPEN}
            today = timezone.localdate()
            if query["overdue"]:
                items = items.filter(**late, due_date__lt=today)
            else:
                items = items.exclude(**late, due_date__lt=today)
        if query.get("status"):
            items = items.filter(status=query["status"])
        if query.get("incident"):
            items = items.filter(incident__public_id=query["incident"])
        return items.order_by("due_date", "id")

    def _reply(self, item: ActionItem, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=item.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_input(ActionItemCreateSerializer, request)
        item = action_item_create(by=request_actor(request), **data)
        return self._reply(item, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()  # 404 for outsiders before any 400
        data = valid_input(ActionItemUpdateSerializer, request)
        item = action_item_update(item=item, by=request_actor(request), **data)
        return self._reply(item)


@extend_schema_view(
    list=extend_schema(
        summary="Root-cause tags of your teams",
        responses={200: RootCauseTagSerializer(many=True), 401: UNAUTHENTICATED},
    ),
    retrieve=extend_schema(
        summary="Get a root-cause tag",
        responses={200: RootCauseTagSerializer, **COMMON},
    ),
    create=extend_schema(
        summary="Add a tag to a team's root-cause vocabulary",
        request=RootCauseTagSerializer,
        responses={201: RootCauseTagSerializer, 400: INVALID, 401: UNAUTHENTICATED},
    ),
)
class RootCauseTagViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[RootCauseTag],
):
    queryset = RootCauseTag.objects.none()  # for the schema; see get_queryset
    serializer_class = RootCauseTagSerializer

    def get_queryset(self) -> QuerySet[RootCauseTag]:
        return selectors.root_cause_tag_list(user=self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_input(RootCauseTagSerializer, request)
        tag = root_cause_tag_create(
            team=data["team"],
            name=data["name"],
            description=data.get("description", ""),
        )
        return Response(RootCauseTagSerializer(tag).data, status.HTTP_201_CREATED)
