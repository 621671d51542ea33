"""REST endpoints of on-call schedules: parse, call one service, answer."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import (
    COMMON,
    CONFLICT,
    INVALID,
    UNAUTHENTICATED,
    valid_input,
    valid_query,
)
from config.auth import request_actor
from escalation import selectors, services
from escalation.models import Override, Schedule
from escalation.serializers.schedules import (
    CalendarFeedSerializer,
    OncallQuerySerializer,
    OncallSerializer,
    OverrideInputSerializer,
    OverrideSerializer,
    ScheduleInputSerializer,
    ScheduleSerializer,
    ScheduleUpdateSerializer,
    ShiftSerializer,
    ShiftsQuerySerializer,
    SwapInputSerializer,
)

DELETED = OpenApiResponse(description="Deleted.")
LIST_ERRORS = {400: INVALID, 401: UNAUTHENTICATED}
# Actions on one schedule filter nothing: the list's query parameters do not apply.
NO_FILTERS: dict[str, Any] = {
    "filterset_fields": [],
    "search_fields": [],
    "ordering_fields": [],
}


@extend_schema_view(
    list=extend_schema(
        summary="List your teams' on-call schedules",
        responses={200: ScheduleSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get a schedule with its layers",
        responses={200: ScheduleSerializer, **COMMON},
    ),
    create=extend_schema(
        summary="Create a schedule for one of your teams, with its layers",
        request=ScheduleInputSerializer,
        responses={201: ScheduleSerializer, 400: INVALID, 401: UNAUTHENTICATED},
    ),
    partial_update=extend_schema(
        summary="Change a schedule; `layers`, when given, replace all its layers",
        request=ScheduleUpdateSerializer,
        responses={200: ScheduleSerializer, 400: INVALID, **COMMON},
    ),
    destroy=extend_schema(
        summary="Delete a schedule with its layers and overrides",
        responses={204: DELETED, 409: CONFLICT, **COMMON},
    ),
)
class ScheduleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Schedule],
):
    queryset = Schedule.objects.none()
    serializer_class = ScheduleSerializer
    filterset_fields = ["team__slug"]
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Schedule]:
        return selectors.schedule_list(user=self.request.user)

    def _reply(self, schedule: Schedule, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=schedule.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_input(ScheduleInputSerializer, request)
        schedule = services.schedule_create(**data)
        return self._reply(schedule, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        schedule = self.get_object()  # 404 for outsiders before any 400
        data = valid_input(ScheduleUpdateSerializer, request, partial=True)
        return self._reply(services.schedule_update(schedule=schedule, **data))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.schedule_delete(schedule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Who is on call at a time (default: now), and by which layer "
        "or override",
        parameters=[OncallQuerySerializer],
        responses={200: OncallSerializer, 400: INVALID, **COMMON},
    )
    @action(detail=True, methods=["get"], **NO_FILTERS)
    def oncall(self, request: Request, pk: str) -> Response:
        schedule = self.get_object()
        query = valid_query(OncallQuerySerializer, request)
        report = selectors.schedule_oncall_report(
            schedule=schedule, at=query.get("at") or timezone.now()
        )
        return Response(OncallSerializer(report).data)

    @extend_schema(
        summary="The next shifts from a time (default: now), the one in progress first",
        parameters=[ShiftsQuerySerializer],
        responses={200: ShiftSerializer(many=True), 400: INVALID, **COMMON},
    )
    @action(detail=True, methods=["get"], pagination_class=None, **NO_FILTERS)
    def shifts(self, request: Request, pk: str) -> Response:
        schedule = self.get_object()
        query = valid_query(ShiftsQuerySerializer, request)
        shifts = selectors.schedule_shift_details(
            schedule=schedule,
            start=query.get("from") or timezone.now(),
            count=query["count"],
        )
        return Response(ShiftSerializer(shifts, many=True).data)

    @extend_schema(
        summary="Swap two shifts between two members (a pair of overrides)",
        request=SwapInputSerializer,
        responses={201: OverrideSerializer(many=True), 400: INVALID, **COMMON},
    )
    @action(detail=True, methods=["post"], **NO_FILTERS)
    def swaps(self, request: Request, pk: str) -> Response:
        schedule = self.get_object()
        data = valid_input(SwapInputSerializer, request)
        first, second = data["first"], data["second"]
        pair = services.schedule_swap(
            schedule=schedule,
            first_user=first["user"],
            first_start=first["start"],
            first_end=first["end"],
            second_user=second["user"],
            second_start=second["start"],
            second_end=second["end"],
            reason=data.get("reason", ""),
            by=request_actor(request),
        )
        body = OverrideSerializer(pair, many=True).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Give the schedule's iCal feed a new secret URL",
        request=None,
        responses={200: ScheduleSerializer, **COMMON},
    )
    @action(detail=True, methods=["post"], url_path="rotate-ical", **NO_FILTERS)
    def rotate_ical(self, request: Request, pk: str) -> Response:
        schedule = services.schedule_ical_rotate(schedule=self.get_object())
        return self._reply(schedule)


@extend_schema_view(
    list=extend_schema(
        summary="List a schedule's overrides, earliest first",
        responses={200: OverrideSerializer(many=True), **COMMON},
    ),
    retrieve=extend_schema(
        summary="Get an override", responses={200: OverrideSerializer, **COMMON}
    ),
    create=extend_schema(
        summary="Put someone on call instead, for a while",
        request=OverrideInputSerializer,
        responses={201: OverrideSerializer, 400: INVALID, **COMMON},
    ),
    destroy=extend_schema(
        summary="Remove an override (both halves, for a swap)",
        responses={204: DELETED, **COMMON},
    ),
)
class OverrideViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Override],
):
    queryset = Override.objects.none()
    serializer_class = OverrideSerializer
    filterset_fields = ["user__username"]

    def _schedule(self) -> Schedule:
        schedules = selectors.schedule_list(user=self.request.user)
        return get_object_or_404(schedules, pk=self.kwargs["schedule_pk"])

    def get_queryset(self) -> QuerySet[Override]:
        if getattr(self, "swagger_fake_view", False):
            return Override.objects.none()
        return selectors.override_list(schedule=self._schedule())

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        schedule = self._schedule()
        data = valid_input(OverrideInputSerializer, request)
        override = services.override_create(
            schedule=schedule, by=request_actor(request), **data
        )
        body = OverrideSerializer(override).data
        return Response(body, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.override_delete(override=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class CalendarFeedView(APIView):
    """The caller's own iCal feed of their shifts in every schedule."""

    @extend_schema(
        summary="Your calendar feed URL (made on first use)",
        responses={200: CalendarFeedSerializer, 401: UNAUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        feed = services.calendar_feed_get_or_create(user=request_actor(request))
        return Response(CalendarFeedSerializer(feed, context={"request": request}).data)


class CalendarFeedRotateView(APIView):
    write_permissions = {"post": ["escalation.change_calendarfeed"]}

    @extend_schema(
        summary="Give your calendar feed a new secret URL",
        request=None,
        responses={200: CalendarFeedSerializer, 401: UNAUTHENTICATED},
    )
    def post(self, request: Request) -> Response:
        feed = services.calendar_feed_rotate(user=request_actor(request))
        return Response(CalendarFeedSerializer(feed, context={"request": request}).data)
