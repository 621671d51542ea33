"""Endpoints of the security response: who sees an incident, and its
evidence with the chain of custody (appended, never changed or deleted)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import COMMON, INVALID, valid_input
from config.auth import request_actor
from incidents import selectors
from incidents.models import EvidenceRecord, Incident
from incidents.serializers.security import (
    CustodyTransferInputSerializer,
    EvidenceInputSerializer,
    EvidenceRecordSerializer,
    NamedResponderSerializer,
    VisibilitySerializer,
)
from incidents.services.security import (
    custody_transfer_add,
    evidence_record_add,
    incident_set_visibility,
)

CHANGE_INCIDENT = "incidents.change_incident"
INCIDENT_ID = OpenApiParameter(
    "public_id",
    str,
    OpenApiParameter.PATH,
    description="The incident's public id, INC-YYYY-MM-DD-NNN.",
)


def _visibility(incident: Incident) -> Response:
    return Response(NamedResponderSerializer(incident).data)


class IncidentVisibilityViewSet(viewsets.GenericViewSet[Incident]):
    """Who sees an incident's details: its whole team, or named responders."""

    queryset = Incident.objects.none()  # for the schema; see get_queryset
    serializer_class = NamedResponderSerializer
    lookup_field = "public_id"
    pagination_class = None
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Incident]:
        return selectors.incident_list(user=self.request.user)

    @extend_schema(
        methods=["GET"],
        summary="Whether the incident is restricted, and to whom",
        responses={200: NamedResponderSerializer, **COMMON},
    )
    @extend_schema(
        methods=["POST"],
        summary="Restrict the incident to named responders, or open it again",
        request=VisibilitySerializer,
        responses={200: NamedResponderSerializer, 400: INVALID, **COMMON},
    )
    @action(detail=True, methods=["get", "post"])
    def visibility(self, request: Request, public_id: str) -> Response:
        incident = self.get_object()
        if request.method == "GET":
            return _visibility(incident)
        data = valid_input(VisibilitySerializer, request)
        incident = incident_set_visibility(
            incident=incident,
            restricted=data["restricted"],
            responders=data["responders"],
            reason=data["reason"],
            by=request_actor(request),
        )
        return _visibility(incident)


@extend_schema_view(
    list=extend_schema(
        summary="The incident's evidence and chain of custody",
        parameters=[INCIDENT_ID],
        responses={200: EvidenceRecordSerializer(many=True), **COMMON},
    ),
    retrieve=extend_schema(
        summary="One piece of evidence with its custody transfers",
        parameters=[INCIDENT_ID],
        responses={200: EvidenceRecordSerializer, **COMMON},
    ),
    create=extend_schema(
        summary="Record a piece of evidence (append-only)",
        parameters=[INCIDENT_ID],
        request=EvidenceInputSerializer,
        responses={201: EvidenceRecordSerializer, 400: INVALID, **COMMON},
    ),
)
class EvidenceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[EvidenceRecord],
):
    """Evidence records: appended, never changed or deleted."""

    queryset = EvidenceRecord.objects.none()
    serializer_class = EvidenceRecordSerializer
    # Recording evidence works the incident, as in the admin.
    write_permissions = {"create": [CHANGE_INCIDENT], "transfer": [CHANGE_INCIDENT]}
    pagination_class = None
    filter_backends: list[Any] = []
    lookup_value_regex = "[0-9]{1,9}"

    def incident(self) -> Incident:
        incidents = selectors.incident_list(user=self.request.user)
        return get_object_or_404(incidents, public_id=self.kwargs["public_id"])

    def get_queryset(self) -> QuerySet[EvidenceRecord]:
        if getattr(self, "swagger_fake_view", False):
            return EvidenceRecord.objects.none()
        return selectors.incident_evidence(incident=self.incident())

    def _reply(
        self, record: EvidenceRecord, code: int = status.HTTP_200_OK
    ) -> Response:
        fresh = selectors.incident_evidence(incident=record.incident).get(pk=record.pk)
        return Response(EvidenceRecordSerializer(fresh).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incident = self.incident()  # 404 for outsiders before any 400
        data = valid_input(EvidenceInputSerializer, request)
        record = evidence_record_add(
            incident=incident, by=request_actor(request), **data
        )
        return self._reply(record, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Record a hand-over of the evidence (append-only)",
        parameters=[INCIDENT_ID],
        request=CustodyTransferInputSerializer,
        responses={201: EvidenceRecordSerializer, 400: INVALID, **COMMON},
    )
    @action(detail=True, methods=["post"])
    def transfer(self, request: Request, public_id: str, pk: str) -> Response:
        record = self.get_object()
        data = valid_input(CustodyTransferInputSerializer, request)
        custody_transfer_add(evidence=record, by=request_actor(request), **data)
        return self._reply(record, status.HTTP_201_CREATED)
