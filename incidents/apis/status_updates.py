"""Endpoints of an incident's status updates and of its update reminders."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import COMMON, INVALID, valid_input
from config.auth import request_actor
from incidents import selectors
from incidents.models import Incident
from incidents.serializers.checklists import ConflictSerializer
from incidents.serializers.core import IncidentSerializer
from incidents.serializers.status_updates import (
    SnoozeInputSerializer,
    StatusUpdateInputSerializer,
    StatusUpdateSerializer,
    UpdateClockSerializer,
)
from incidents.services.status_updates import (
    status_update_post,
    update_reminders_snooze,
)

UPDATE_CONFLICT = OpenApiResponse(
    ConflictSerializer,
    "The incident is resolved, closed or cancelled (post with a `status` to "
    "reopen it), or the `status` asked is an illegal transition.",
)
CLOCK_CONFLICT = OpenApiResponse(
    ConflictSerializer,
    "No update clock runs: the severity has no cadence, or the incident is over.",
)


class IncidentStatusUpdatesViewSet(viewsets.GenericViewSet[Incident]):
    queryset = Incident.objects.none()  # for the schema; see get_queryset
    serializer_class = IncidentSerializer
    lookup_field = "public_id"
    pagination_class = None
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Incident]:
        return selectors.incident_list(user=self.request.user)

    @extend_schema(
        summary="The incident's status updates, oldest first",
        responses={200: StatusUpdateSerializer(many=True), **COMMON},
        methods=["GET"],
    )
    @extend_schema(
        summary="Post a status update to the incident's channels and subscribers",
        request=StatusUpdateInputSerializer,
        responses={
            201: StatusUpdateSerializer,
            400: INVALID,
            409: UPDATE_CONFLICT,
            **COMMON,
        },
        methods=["POST"],
    )
    @action(detail=True, methods=["get", "post"], url_path="status-updates")
    def status_updates(self, request: Request, public_id: str) -> Response:
        incident = self.get_object()
        if request.method == "GET":
            updates = incident.status_updates.select_related("incident", "posted_by")
            return Response(StatusUpdateSerializer(updates, many=True).data)
        data = valid_input(StatusUpdateInputSerializer, request)
        update = status_update_post(
            incident=incident, actor=request_actor(request), via="api", **data
        )
        return Response(
            StatusUpdateSerializer(update).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Snooze the incident's update reminders, with a reason",
        request=SnoozeInputSerializer,
        responses={
            200: UpdateClockSerializer,
            400: INVALID,
            409: CLOCK_CONFLICT,
            **COMMON,
        },
    )
    @action(detail=True, methods=["post"], url_path="update-reminders/snooze")
    def snooze(self, request: Request, public_id: str) -> Response:
        incident = self.get_object()
        data = valid_input(SnoozeInputSerializer, request)
        incident = update_reminders_snooze(
            incident=incident, by=request_actor(request), **data
        )
        return Response(UpdateClockSerializer(incident).data)
