"""Endpoints of the response aids: verification before resolve, the
response checklist, and resolve with its override."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import COMMON, INVALID, valid_input
from config.auth import request_actor
from incidents import selectors
from incidents.apis.core import RESOLVE_CONFLICT
from incidents.checklist import incident_checklist
from incidents.models import Incident
from incidents.serializers.checklists import (
    ChecklistItemSerializer,
    ConflictSerializer,
    ResolveSerializer,
    VerificationSerializer,
)
from incidents.serializers.core import IncidentSerializer
from incidents.services.checklists import (
    checklist_item_tick,
    checklist_item_untick,
    verification_item_tick,
    verification_item_untick,
    verification_items_ensure,
)
from incidents.services.incident import incident_transition

TICK_CONFLICT = OpenApiResponse(
    ConflictSerializer,
    "The incident is closed or cancelled, or the item is proved by the "
    "timeline rather than ticked by hand.",
)
# Item ids are bounded so that no number reaches the database as an overflow.
ITEM_ID = r"(?P<item_id>[0-9]{1,9})"
ITEM_KEY = r"(?P<item>[a-z_]{1,32})"


def _verification(incident: Incident) -> Response:
    items = verification_items_ensure(incident=incident)
    body = {
        "required_to_resolve": incident.severity.verification_required,
        "complete": all(item.checked_at is not None for item in items),
        "items": items,
    }
    return Response(VerificationSerializer(body).data)


def _checklist(incident: Incident) -> Response:
    states = incident_checklist(incident=incident)
    return Response(ChecklistItemSerializer(states, many=True).data)


class IncidentResponseAidsViewSet(viewsets.GenericViewSet[Incident]):
    queryset = Incident.objects.none()  # for the schema; see get_queryset
    serializer_class = IncidentSerializer
    lookup_field = "public_id"
    pagination_class = None
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Incident]:
        return selectors.incident_list(user=self.request.user)

    @extend_schema(
        summary="Resolve an incident, past its verification checklist",
        request=ResolveSerializer,
        responses={
            200: IncidentSerializer,
            400: INVALID,
            409: RESOLVE_CONFLICT,
            **COMMON,
        },
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, public_id: str) -> Response:
        incident = self.get_object()
        data = valid_input(ResolveSerializer, request)
        incident = incident_transition(
            incident=incident,
            to=Incident.Status.RESOLVED,
            by=request_actor(request),
            via="api",
            reason=data["reason"],
            override_verification=data["override_verification"],
        )
        fresh = self.get_queryset().get(pk=incident.pk)
        return Response(IncidentSerializer(fresh).data)

    @extend_schema(
        summary="The incident's verification checklist",
        responses={200: VerificationSerializer, **COMMON},
    )
    @action(detail=True, methods=["get"])
    def verification(self, request: Request, public_id: str) -> Response:
        return _verification(self.get_object())

    @extend_schema(
        summary="Tick a verification item",
        request=None,
        responses={
            200: VerificationSerializer,
            400: INVALID,
            409: TICK_CONFLICT,
            **COMMON,
        },
    )
    @action(detail=True, methods=["post"], url_path=f"verification/{ITEM_ID}/tick")
    def verification_tick(
        self, request: Request, public_id: str, item_id: str
    ) -> Response:
        incident = self.get_object()
        verification_item_tick(
            incident=incident, item_id=int(item_id), by=request_actor(request)
        )
        return _verification(incident)

    @extend_schema(
        summary="Untick a verification item",
        request=None,
        responses={
            200: VerificationSerializer,
            400: INVALID,
            409: TICK_CONFLICT,
            **COMMON,
        },
    )
    @action(detail=True, methods=["post"], url_path=f"verification/{ITEM_ID}/untick")
    def verification_untick(
        self, request: Request, public_id: str, item_id: str
    ) -> Response:
        incident = self.get_object()
        verification_item_untick(
            incident=incident, item_id=int(item_id), by=request_actor(request)
        )
        return _verification(incident)

    @extend_schema(
        summary="The response checklist, each item with what proves it",
        responses={200: ChecklistItemSerializer(many=True), **COMMON},
    )
    @action(detail=True, methods=["get"])
    def checklist(self, request: Request, public_id: str) -> Response:
        return _checklist(self.get_object())

    @extend_schema(
        summary="Tick a response checklist item by hand",
        request=None,
        responses={
            200: ChecklistItemSerializer(many=True),
            400: INVALID,
            409: TICK_CONFLICT,
            **COMMON,
        },
    )
    @action(detail=True, methods=["post"], url_path=f"checklist/{ITEM_KEY}/tick")
    def checklist_tick(self, request: Request, public_id: str, item: str) -> Response:
        incident = self.get_object()
        checklist_item_tick(incident=incident, item=item, by=request_actor(request))
        return _checklist(incident)

    @extend_schema(
        summary="Take back a hand tick of a response checklist item",
        request=None,
        responses={
            200: ChecklistItemSerializer(many=True),
            400: INVALID,
            409: TICK_CONFLICT,
            **COMMON,
        },
    )
    @action(detail=True, methods=["post"], url_path=f"checklist/{ITEM_KEY}/untick")
    def checklist_untick(self, request: Request, public_id: str, item: str) -> Response:
        incident = self.get_object()
        checklist_item_untick(incident=incident, item=item, by=request_actor(request))
        return _checklist(incident)
