"""REST endpoints acting on an incident's escalation by hand.

Incidents are looked up among the caller's teams' incidents, by public id,
as in the incident API: another team's incident is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from config.api import COMMON, INVALID, NOT_FOUND, valid_input
from config.auth import request_actor
from config.serializers import ErrorSerializer, StrictInputSerializer
from escalation.models import Escalation, EscalationStep
from escalation.selectors import escalation_get
from escalation.serializers import (
    EscalationActionSerializer,
    EscalationPageInputSerializer,
    EscalationSerializer,
)
from escalation.services import (
    escalation_add_responder,
    escalation_escalate,
    escalation_reassign,
)
from incidents.models import Incident
from incidents.selectors import incident_list

REFUSED = OpenApiResponse(
    ErrorSerializer,
    "The incident is not open, has no escalation (policy), reached the last "
    "level, or the user was already paged or cannot be reached.",
)


def _control_schema(request: type[BaseSerializer[Any]] | None, summary: str) -> Any:
    return extend_schema(
        summary=summary,
        request=request,
        responses={
            200: EscalationActionSerializer,
            400: INVALID,
            409: REFUSED,
            **COMMON,
        },
    )


class IncidentEscalationViewSet(viewsets.GenericViewSet[Incident]):
    lookup_field = "public_id"
    filter_backends: list[Any] = []
    pagination_class = None
    # As the admin's escalation page asks for its manual controls.
    permission_model = Escalation

    def get_queryset(self) -> QuerySet[Incident]:
        return incident_list(user=self.request.user)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        # What OPTIONS ("metadata") describes as the route's POST body.
        action = self.action_map.get("post") if self.action == "metadata" else None
        action = action or self.action
        if action in {"reassign", "responders"}:
            return EscalationPageInputSerializer
        if action == "escalate":
            return StrictInputSerializer  # no fields: escalate takes no body
        return EscalationSerializer

    def _answer(self, incident: Incident, step: EscalationStep) -> Response:
        body = {"step": step, "escalation": escalation_get(incident=incident)}
        return Response(EscalationActionSerializer(body).data)

    @extend_schema(
        summary="An incident's escalation: where it stands and every step",
        responses={
            200: EscalationSerializer,
            **COMMON,
            404: OpenApiResponse(
                ErrorSerializer,
                f"{NOT_FOUND.description} Or the incident has no escalation yet.",
            ),
        },
    )
    def retrieve(self, request: Request, public_id: str) -> Response:
        incident = self.get_object()
        escalation = escalation_get(incident=incident)
        if escalation is None:
            raise NotFound(f"incident {incident.public_id} has no escalation yet")
        return Response(EscalationSerializer(escalation).data)

    @_control_schema(None, "Escalate now: page the next level at once")
    def escalate(self, request: Request, public_id: str) -> Response:
        incident = self.get_object()
        step = escalation_escalate(incident=incident, by=request_actor(request))
        return self._answer(incident, step)

    def _page(
        self, request: Request, service: Callable[..., EscalationStep]
    ) -> Response:
        incident = self.get_object()  # 404 for outsiders before any 400
        data = valid_input(EscalationPageInputSerializer, request)
        step = service(
            incident=incident,
            user=data["user"],
            reason=data.get("reason", ""),
            by=request_actor(request),
        )
        return self._answer(incident, step)

    @_control_schema(
        EscalationPageInputSerializer,
        "Reassign: page a user now and give them the level's time to acknowledge",
    )
    def reassign(self, request: Request, public_id: str) -> Response:
        return self._page(request, escalation_reassign)

    @_control_schema(
        EscalationPageInputSerializer, "Add a responder: page a user to join"
    )
    def responders(self, request: Request, public_id: str) -> Response:
        return self._page(request, escalation_add_responder)
