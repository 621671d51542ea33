"""REST endpoints of the incident core: parse, call one service, answer."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from config.api import (
    COMMON,
    CONFLICT,
    INVALID,
    UNAUTHENTICATED,
    valid_input,
)
from config.auth import request_actor
from incidents import selectors, services
from incidents.filters import IncidentFilter
from incidents.models import Incident, Service, SeverityLevel, Team
from incidents.serializers.checklists import ConflictSerializer
from incidents.serializers.core import (
    AssignRoleSerializer,
    IncidentCreateSerializer,
    IncidentSerializer,
    IncidentUpdateSerializer,
    NoteSerializer,
    ServiceSerializer,
    SeverityChangeSerializer,
    SeverityLevelSerializer,
    TeamSerializer,
    TimelineEventSerializer,
    TransitionSerializer,
)
from incidents.serializers.ingest import ChangeEventSerializer
from incidents.timeline_document import timeline_download

RESOLVE_CONFLICT = OpenApiResponse(
    ConflictSerializer,
    "An illegal transition (the body names the current and allowed statuses), "
    "or a resolve while the severity's verification items are open (the body "
    "lists them as open_items).",
)


def _action_schema(
    request: type[BaseSerializer[Any]] | None,
    summary: str,
    conflict: OpenApiResponse = CONFLICT,
) -> Any:
    return extend_schema(
        summary=summary,
        request=request,
        responses={200: IncidentSerializer, 400: INVALID, 409: conflict, **COMMON},
    )


@extend_schema_view(
    list=extend_schema(
        summary="List incidents of your teams",
        responses={
            200: IncidentSerializer(many=True),
            400: INVALID,
            401: UNAUTHENTICATED,
        },
    ),
    retrieve=extend_schema(
        summary="Get an incident", responses={200: IncidentSerializer, **COMMON}
    ),
    create=extend_schema(
        summary="Declare an incident",
        request=IncidentCreateSerializer,
        responses={201: IncidentSerializer, 400: INVALID, 401: UNAUTHENTICATED},
    ),
    partial_update=extend_schema(
        summary="Edit an incident's details",
        request=IncidentUpdateSerializer,
        responses={200: IncidentSerializer, 400: INVALID, **COMMON},
    ),
)
class IncidentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Incident],
):
    queryset = Incident.objects.none()  # for the schema; see get_queryset
    serializer_class = IncidentSerializer
    lookup_field = "public_id"
    filterset_class = IncidentFilter
    search_fields = ["public_id", "title"]
    ordering_fields = ["detected_at", "severity__rank", "status", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Incident]:
        return selectors.incident_list(user=self.request.user)

    def _reply(self, incident: Incident, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=incident.pk)
        return Response(IncidentSerializer(fresh).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_input(IncidentCreateSerializer, request)
        incident = services.incident_create(
            by=request_actor(request), via="api", **data
        )
        return self._reply(incident, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incident = self.get_object()  # 404 for outsiders before any 400
        data = valid_input(IncidentUpdateSerializer, request, partial=True)
        incident = services.incident_update(
            incident=incident, by=request_actor(request), via="api", **data
        )
        return self._reply(incident)

    @_action_schema(None, "Acknowledge a triggered incident")
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, public_id: str) -> Response:
        incident = services.incident_acknowledge(
            incident=self.get_object(), by=request_actor(request), via="api"
        )
        return self._reply(incident)

    @_action_schema(
        TransitionSerializer, "Move an incident to another status", RESOLVE_CONFLICT
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, public_id: str) -> Response:
        incident = self.get_object()
        data = valid_input(TransitionSerializer, request)
        incident = services.incident_transition(
            incident=incident,
            to=data["status"],
            reason=data["reason"],
            by=request_actor(request),
            via="api",
        )
        return self._reply(incident)

    @_action_schema(SeverityChangeSerializer, "Raise or lower the severity")
    @action(detail=True, methods=["post"])
    def severity(self, request: Request, public_id: str) -> Response:
        incident = self.get_object()
        data = valid_input(SeverityChangeSerializer, request)
        incident = services.incident_change_severity(
            incident=incident,
            severity=data["severity"],
            reason=data["reason"],
            by=request_actor(request),
            via="api",
        )
        return self._reply(incident)

    @_action_schema(AssignRoleSerializer, "Assign or hand over an incident role")
    @action(detail=True, methods=["post"], url_path="assign-role")
    def assign_role(self, request: Request, public_id: str) -> Response:
        incident = self.get_object()
        data = valid_input(AssignRoleSerializer, request)
        services.incident_assign_role(
            incident=incident,
            role=data["role"],
            user=data["user"],
            reason=data["reason"],
            by=request_actor(request),
            via="api",
        )
        return self._reply(incident)

    @extend_schema(
        summary="Add a note, hypothesis, action or decision to the timeline",
        request=NoteSerializer,
        responses={201: TimelineEventSerializer, 400: INVALID, **COMMON},
    )
    @action(detail=True, methods=["post"])
    def note(self, request: Request, public_id: str) -> Response:
        incident = self.get_object()
        data = valid_input(NoteSerializer, request)
        event = services.incident_add_note(
            incident=incident,
            text=data["text"],
            note_kind=data["kind"],
            by=request_actor(request),
            via="api",
        )
        return Response(TimelineEventSerializer(event).data, status.HTTP_201_CREATED)

    @extend_schema(
        summary="The incident's timeline, oldest first",
        responses={200: TimelineEventSerializer(many=True), **COMMON},
    )
    @action(
        detail=True,
        methods=["get"],
        filterset_class=None,
        search_fields=[],
        ordering_fields=[],
    )
    def timeline(self, request: Request, public_id: str) -> Response:
        events = selectors.incident_timeline(incident=self.get_object())
        page = self.paginate_queryset(events)  # type: ignore[arg-type]
        serializer = TimelineEventSerializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    @extend_schema(
        summary="Export the timeline as the SOPs' Markdown document",
        responses={
            (200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR),
            **COMMON,
        },
    )
    @action(detail=True, methods=["get"], url_path="timeline/export")
    def timeline_export(self, request: Request, public_id: str) -> HttpResponse:
        return timeline_download(incident=self.get_object())


@extend_schema_view(
    list=extend_schema(
        summary="List your teams' services",
        responses={200: ServiceSerializer(many=True), 401: UNAUTHENTICATED},
    ),
    retrieve=extend_schema(
        summary="Get a service", responses={200: ServiceSerializer, **COMMON}
    ),
    create=extend_schema(
        summary="Create a service in one of your teams",
        responses={201: ServiceSerializer, 400: INVALID, 401: UNAUTHENTICATED},
    ),
)
class ServiceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Service],
):
    queryset = Service.objects.none()
    serializer_class = ServiceSerializer
    lookup_field = "slug"
    search_fields = ["name", "slug"]
    filterset_fields = ["team__slug"]

    def get_queryset(self) -> QuerySet[Service]:
        return selectors.service_list(user=self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        service = services.service_create(**serializer.validated_data)
        return Response(ServiceSerializer(service).data, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Recent changes (deploys, config pushes) sent for this service",
        responses={200: ChangeEventSerializer(many=True), **COMMON},
    )
    @action(detail=True, methods=["get"], filterset_fields=[], search_fields=[])
    def changes(self, request: Request, slug: str) -> Response:
        page = self.paginate_queryset(selectors.change_list(service=self.get_object()))  # type: ignore[arg-type]
        return self.get_paginated_response(ChangeEventSerializer(page, many=True).data)


@extend_schema_view(
    list=extend_schema(
        summary="List your teams",
        responses={200: TeamSerializer(many=True), 401: UNAUTHENTICATED},
    ),
    retrieve=extend_schema(
        summary="Get a team and its members", responses={200: TeamSerializer, **COMMON}
    ),
)
class TeamViewSet(viewsets.ReadOnlyModelViewSet[Team]):
    queryset = Team.objects.none()
    serializer_class = TeamSerializer
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[Team]:
        return selectors.team_list(user=self.request.user).prefetch_related(
            "memberships__user"
        )


@extend_schema_view(
    list=extend_schema(
        summary="The severity matrix",
        responses={200: SeverityLevelSerializer(many=True), 401: UNAUTHENTICATED},
    ),
    retrieve=extend_schema(
        summary="One severity level", responses={200: SeverityLevelSerializer, **COMMON}
    ),
    partial_update=extend_schema(
        summary="Edit a severity level (keeps the previous version)",
        responses={200: SeverityLevelSerializer, 400: INVALID, **COMMON},
    ),
)
class SeverityLevelViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[SeverityLevel],
):
    serializer_class = SeverityLevelSerializer
    lookup_field = "code"
    queryset = SeverityLevel.objects.none()
    pagination_class = None
    filter_backends: list[Any] = []
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[SeverityLevel]:
        return selectors.severity_list()

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(
            self.get_object(), data=request.data, partial=True
        )
        serializer.is_valid(raise_exception=True)
        severity = services.severity_level_update(
            severity=self.get_object(),
            by=request_actor(request),
            **serializer.validated_data,
        )
        return Response(SeverityLevelSerializer(severity).data)
