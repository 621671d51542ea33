"""REST endpoints of drills: the scenario library, drills, drill schedules."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import COMMON, CONFLICT, INVALID, UNAUTHENTICATED, valid_input
from config.auth import request_actor
from escalation import selectors, services
from escalation.apis.schedules import LIST_ERRORS, NO_FILTERS
from escalation.models import Drill, DrillScenario, DrillSchedule
from escalation.serializers.drills import (
    DrillScenarioInputSerializer,
    DrillScenarioSerializer,
    DrillScenarioUpdateSerializer,
    DrillScheduleInputSerializer,
    DrillScheduleSerializer,
    DrillScheduleUpdateSerializer,
    DrillSerializer,
    DrillStartSerializer,
)

DELETED = OpenApiResponse(description="Deleted; the drills it started stay.")


@extend_schema_view(
    list=extend_schema(
        summary="List the drill scenario library",
        responses={200: DrillScenarioSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get a drill scenario",
        responses={200: DrillScenarioSerializer, **COMMON},
    ),
    create=extend_schema(
        summary="Add a scenario to the library (its alert is checked)",
        request=DrillScenarioInputSerializer,
        responses={201: DrillScenarioSerializer, 400: INVALID, 401: UNAUTHENTICATED},
    ),
    partial_update=extend_schema(
        summary="Change a scenario of the library",
        request=DrillScenarioUpdateSerializer,
        responses={200: DrillScenarioSerializer, 400: INVALID, **COMMON},
    ),
)
class DrillScenarioViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[DrillScenario],
):
    queryset = DrillScenario.objects.none()
    serializer_class = DrillScenarioSerializer
    filterset_fields = ["category", "alert_format"]
    search_fields = ["name", "slug"]
    ordering_fields = ["name", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    permission_model = DrillScenario

    def get_queryset(self) -> QuerySet[DrillScenario]:
        return selectors.drill_scenario_list()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_input(DrillScenarioInputSerializer, request)
        scenario = services.drill_scenario_create(**data)
        return Response(
            DrillScenarioSerializer(scenario).data, status=status.HTTP_201_CREATED
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        scenario = self.get_object()
        data = valid_input(DrillScenarioUpdateSerializer, request, partial=True)
        scenario = services.drill_scenario_update(scenario=scenario, **data)
        return Response(DrillScenarioSerializer(scenario).data)


@extend_schema_view(
    list=extend_schema(
        summary="List your teams' drills, latest first",
        responses={200: DrillSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get a drill: its state, reason, time box and incident",
        responses={200: DrillSerializer, **COMMON},
    ),
    create=extend_schema(
        summary="Start a drill now (postponed while a real P0/P1 of the team is open)",
        request=DrillStartSerializer,
        responses={201: DrillSerializer, 400: INVALID, 401: UNAUTHENTICATED},
    ),
)
class DrillViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Drill],
):
    queryset = Drill.objects.none()
    serializer_class = DrillSerializer
    filterset_fields = ["state", "mode", "team__slug", "scenario__slug"]
    search_fields: list[str] = []
    ordering_fields = ["due_at", "started_at", "created_at"]
    http_method_names = ["get", "post", "head", "options"]
    lookup_value_regex = "[0-9]+"
    permission_model = Drill

    def get_queryset(self) -> QuerySet[Drill]:
        return selectors.drill_list(user=self.request.user)

    def _reply(self, drill: Drill, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=drill.pk)
        return Response(DrillSerializer(fresh).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_input(DrillStartSerializer, request)
        drill = services.drill_start(**data, by=request_actor(request))
        return self._reply(drill, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Call off a drill that has not begun (scheduled or postponed)",
        request=None,
        responses={200: DrillSerializer, 409: CONFLICT, **COMMON},
    )
    @action(detail=True, methods=["post"], **NO_FILTERS)
    def cancel(self, request: Request, pk: str) -> Response:
        drill = services.drill_cancel(
            drill=self.get_object(), by=request_actor(request)
        )
        return self._reply(drill)


@extend_schema_view(
    list=extend_schema(
        summary="List your teams' drill schedules",
        responses={200: DrillScheduleSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get a drill schedule",
        responses={200: DrillScheduleSerializer, **COMMON},
    ),
    create=extend_schema(
        summary="Schedule a team's drills (quarterly by default, in the team's "
        "time zone)",
        request=DrillScheduleInputSerializer,
        responses={201: DrillScheduleSerializer, 400: INVALID, 401: UNAUTHENTICATED},
    ),
    partial_update=extend_schema(
        summary="Change a drill schedule",
        request=DrillScheduleUpdateSerializer,
        responses={200: DrillScheduleSerializer, 400: INVALID, **COMMON},
    ),
    destroy=extend_schema(
        summary="Delete a drill schedule and its periodic task",
        responses={204: DELETED, **COMMON},
    ),
)
class DrillScheduleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[DrillSchedule],
):
    queryset = DrillSchedule.objects.none()
    serializer_class = DrillScheduleSerializer
    filterset_fields = ["team__slug", "enabled"]
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_model = DrillSchedule

    def get_queryset(self) -> QuerySet[DrillSchedule]:
        return selectors.drill_schedule_list(user=self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_input(DrillScheduleInputSerializer, request)
        schedule = services.drill_schedule_create(**data)
        return Response(
            DrillScheduleSerializer(schedule).data, status=status.HTTP_201_CREATED
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        schedule = self.get_object()
        data = valid_input(DrillScheduleUpdateSerializer, request, partial=True)
        schedule = services.drill_schedule_update(schedule=schedule, **data)
        return Response(DrillScheduleSerializer(schedule).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.drill_schedule_delete(schedule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
