"""REST endpoints of runbooks, incident checklists and external contacts.

Runbooks and external contacts are read by every member of their teams and
changed with the admin's model permissions (add, change, delete); runbooks
shared by every team are changed by superusers only. An incident's checklist
is worked by its team's members, as every other incident action.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import (
    COMMON,
    CONFLICT,
    INVALID,
    NOT_FOUND,
    UNAUTHENTICATED,
    StrictJSONParser,
    valid_input,
)
from config.auth import request_actor
from incidents import runbook_selectors, selectors
from incidents.models import (
    ExternalContact,
    Incident,
    IncidentRunbook,
    IncidentRunbookStep,
    Runbook,
    Team,
)
from incidents.serializers.runbooks import (
    AttachRunbookSerializer,
    ExternalContactSerializer,
    IncidentRunbookSerializer,
    IncidentRunbookStepSerializer,
    RunbookInputSerializer,
    RunbookSerializer,
    SkipStepSerializer,
    StepNoteSerializer,
)
from incidents.services import runbook_setup, runbooks

DELETED = OpenApiResponse(description="Deleted.")
PAGE_NOT_FOUND = OpenApiResponse(NOT_FOUND.response, "No such page.")
INCIDENT_ID = OpenApiParameter(
    "public_id",
    str,
    OpenApiParameter.PATH,
    description="The incident's public id, INC-YYYY-MM-DD-NNN.",
)
STEP_STATE = OpenApiResponse(
    CONFLICT.response,
    "The incident is closed or cancelled, or the step is done (reopen it "
    "before skipping it).",
)

CHANGE_INCIDENT = "incidents.change_incident"


class ModelPermissions(permissions.DjangoModelPermissions):
    """Writes need the admin's add/change/delete permission of the model."""


def _check_shared(request: Request, team: Team | None) -> None:
    if team is None and not request.user.is_superuser:
        raise PermissionDenied("only superusers change runbooks shared by every team")


@extend_schema_view(
    list=extend_schema(
        summary="List the shared runbooks and your teams'",
        responses={
            200: RunbookSerializer(many=True),
            400: INVALID,
            401: UNAUTHENTICATED,
            404: PAGE_NOT_FOUND,
        },
    ),
    retrieve=extend_schema(
        summary="Get a runbook with its steps",
        responses={200: RunbookSerializer, **COMMON},
    ),
    create=extend_schema(
        summary="Create a runbook with its steps",
        request=RunbookInputSerializer,
        responses={
            201: RunbookSerializer,
            400: INVALID,
            401: UNAUTHENTICATED,
            403: COMMON[403],
        },
    ),
    update=extend_schema(
        summary="Replace a runbook, steps and all",
        request=RunbookInputSerializer,
        responses={200: RunbookSerializer, 400: INVALID, **COMMON},
    ),
    partial_update=extend_schema(
        summary="Change a runbook; steps, if given, replace all",
        request=RunbookInputSerializer,
        responses={200: RunbookSerializer, 400: INVALID, **COMMON},
    ),
    destroy=extend_schema(
        summary="Delete a runbook (incidents keep their copies)",
        responses={204: DELETED, **COMMON},
    ),
)
class RunbookViewSet(viewsets.ModelViewSet[Runbook]):
    """Runbooks: ordered steps, and the conditions under which they attach."""

    queryset = Runbook.objects.none()
    serializer_class = RunbookSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    # Steps are a list of objects, which forms cannot carry: JSON only.
    parser_classes = [StrictJSONParser]
    filterset_fields = ["category", "enabled", "team__slug", "service__slug"]
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> QuerySet[Runbook]:
        return runbook_selectors.runbook_list(user=self.request.user)

    def _reply(self, runbook: Runbook, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=runbook.pk)
        return Response(RunbookSerializer(fresh).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_input(RunbookInputSerializer, request)
        _check_shared(request, data.get("team"))
        runbook = runbook_setup.runbook_create(**data)
        return self._reply(runbook, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        runbook = self.get_object()  # 404 for outsiders before any 400
        _check_shared(request, runbook.team)
        partial = kwargs.get("partial", False)
        data = valid_input(RunbookInputSerializer, request, partial=partial)
        if "team" in data:
            _check_shared(request, data["team"])
        return self._reply(runbook_setup.runbook_update(runbook=runbook, **data))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        runbook = self.get_object()
        _check_shared(request, runbook.team)
        runbook_setup.runbook_delete(runbook=runbook)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="List your teams' external contacts",
        responses={
            200: ExternalContactSerializer(many=True),
            400: INVALID,
            401: UNAUTHENTICATED,
            404: PAGE_NOT_FOUND,
        },
    ),
    retrieve=extend_schema(
        summary="Get an external contact",
        responses={200: ExternalContactSerializer, **COMMON},
    ),
    create=extend_schema(
        summary="Add a hosting provider, vendor or other outside contact",
        responses={
            201: ExternalContactSerializer,
            400: INVALID,
            401: UNAUTHENTICATED,
            403: COMMON[403],
        },
    ),
    update=extend_schema(
        summary="Replace an external contact",
        responses={200: ExternalContactSerializer, 400: INVALID, **COMMON},
    ),
    partial_update=extend_schema(
        summary="Change an external contact",
        responses={200: ExternalContactSerializer, 400: INVALID, **COMMON},
    ),
    destroy=extend_schema(
        summary="Delete an external contact", responses={204: DELETED, **COMMON}
    ),
)
class ExternalContactViewSet(viewsets.ModelViewSet[ExternalContact]):
    """Hosting providers, vendors and others a team calls during incidents."""

    queryset = ExternalContact.objects.none()
    serializer_class = ExternalContactSerializer
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    filterset_fields = ["kind", "team__slug"]
    search_fields = ["name", "notes"]

    def get_queryset(self) -> QuerySet[ExternalContact]:
        return runbook_selectors.external_contact_list(user=self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_input(ExternalContactSerializer, request)
        contact = runbook_setup.external_contact_create(**data)
        return Response(
            ExternalContactSerializer(contact).data, status=status.HTTP_201_CREATED
        )

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        contact = self.get_object()
        partial = kwargs.get("partial", False)
        data = valid_input(ExternalContactSerializer, request, partial=partial)
        contact = runbook_setup.external_contact_update(contact=contact, **data)
        return Response(ExternalContactSerializer(contact).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        runbook_setup.external_contact_delete(contact=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


def _incident(request: Request, public_id: str) -> Incident:
    """Return the caller's teams' incident `public_id`, or answer 404."""
    incidents = selectors.incident_list(user=request.user)
    return get_object_or_404(incidents, public_id=public_id)


@extend_schema_view(
    list=extend_schema(
        summary="The runbooks attached to an incident, as checklists",
        parameters=[INCIDENT_ID],
        responses={200: IncidentRunbookSerializer(many=True), **COMMON},
    ),
    create=extend_schema(
        summary="Attach a runbook by hand, whatever its conditions say",
        parameters=[INCIDENT_ID],
        request=AttachRunbookSerializer,
        responses={
            201: IncidentRunbookSerializer,
            400: INVALID,
            409: STEP_STATE,
            **COMMON,
        },
    ),
)
class IncidentRunbookViewSet(
    mixins.ListModelMixin,
    viewsets.GenericViewSet[IncidentRunbook],
):
    """Runbooks attached to an incident: copies taken when they attached."""

    queryset = IncidentRunbook.objects.none()
    serializer_class = IncidentRunbookSerializer
    # Working an incident's checklist changes the incident, as in the admin.
    write_permissions = {"create": [CHANGE_INCIDENT]}
    pagination_class = None
    filter_backends: list[Any] = []

    def incident(self) -> Incident:
        return _incident(self.request, self.kwargs["public_id"])

    def get_queryset(self) -> QuerySet[IncidentRunbook]:
        if getattr(self, "swagger_fake_view", False):
            return IncidentRunbook.objects.none()
        return runbook_selectors.incident_runbook_list(incident=self.incident())

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incident = self.incident()  # 404 for outsiders before any 400
        data = valid_input(AttachRunbookSerializer, request)
        attached = runbooks.incident_runbook_attach(
            incident=incident, runbook=data["runbook"], by=request_actor(request)
        )
        fresh = self.get_queryset().get(pk=attached.pk)
        return Response(
            IncidentRunbookSerializer(fresh).data, status=status.HTTP_201_CREATED
        )


def _step_schema(request: Any, summary: str) -> Any:
    return extend_schema(
        summary=summary,
        parameters=[INCIDENT_ID],
        request=request,
        responses={
            200: IncidentRunbookStepSerializer,
            400: INVALID,
            409: STEP_STATE,
            **COMMON,
        },
    )


@extend_schema_view(
    list=extend_schema(
        summary="The incident's checklist steps, runbook by runbook",
        parameters=[INCIDENT_ID],
        responses={200: IncidentRunbookStepSerializer(many=True), **COMMON},
    ),
    retrieve=extend_schema(
        summary="One checklist step",
        parameters=[INCIDENT_ID],
        responses={200: IncidentRunbookStepSerializer, **COMMON},
    ),
)
class IncidentRunbookStepViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[IncidentRunbookStep],
):
    """Steps of an incident's runbooks: tick, untick, skip, annotate."""

    queryset = IncidentRunbookStep.objects.none()
    serializer_class = IncidentRunbookStepSerializer
    permission_model = Incident  # ticking a step changes the incident
    pagination_class = None
    filter_backends: list[Any] = []

    def incident(self) -> Incident:
        return _incident(self.request, self.kwargs["public_id"])

    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[IncidentRunbookStep]:
        if getattr(self, "swagger_fake_view", False):
            return IncidentRunbookStep.objects.none()
        return runbook_selectors.incident_runbook_step_list(incident=self.incident())

    def _reply(self, step: IncidentRunbookStep) -> Response:
        fresh = self.get_queryset().get(pk=step.pk)
        return Response(IncidentRunbookStepSerializer(fresh).data)

    @_step_schema(None, "Tick a step: done (again: no change)")
    @action(detail=True, methods=["post"])
    def tick(self, request: Request, public_id: str, pk: str) -> Response:
        step = runbooks.runbook_step_tick(
            step=self.get_object(), by=request_actor(request)
        )
        return self._reply(step)

    @_step_schema(None, "Untick a step: open again (again: no change)")
    @action(detail=True, methods=["post"])
    def untick(self, request: Request, public_id: str, pk: str) -> Response:
        step = runbooks.runbook_step_untick(
            step=self.get_object(), by=request_actor(request)
        )
        return self._reply(step)

    @_step_schema(SkipStepSerializer, "Skip an open step, saying why")
    @action(detail=True, methods=["post"])
    def skip(self, request: Request, public_id: str, pk: str) -> Response:
        step = self.get_object()
        data = valid_input(SkipStepSerializer, request)
        step = runbooks.runbook_step_skip(
            step=step, reason=data["reason"], by=request_actor(request)
        )
        return self._reply(step)

    @_step_schema(StepNoteSerializer, "Set the step's note")
    @action(detail=True, methods=["post"])
    def note(self, request: Request, public_id: str, pk: str) -> Response:
        step = self.get_object()
        data = valid_input(StepNoteSerializer, request)
        step = runbooks.runbook_step_note(
            step=step, text=data["text"], by=request_actor(request)
        )
        return self._reply(step)
