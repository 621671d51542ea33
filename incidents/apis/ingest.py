"""REST endpoints for integrations, alerts, user reports and maintenance."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import COMMON, CONFLICT, INVALID, UNAUTHENTICATED, valid_input
from config.auth import request_actor
from incidents import selectors, services
from incidents.filters import AlertEventFilter, AlertFilter
from incidents.models import Alert, AlertEvent, Integration, MaintenanceWindow
from incidents.serializers.ingest import (
    AlertEventSerializer,
    AlertSerializer,
    IntegrationInputSerializer,
    IntegrationSerializer,
    IntegrationUpdateSerializer,
    IntegrationWithKeySerializer,
    MaintenanceWindowSerializer,
    RotateKeySerializer,
    UserReportSerializer,
)
from incidents.services.quarantine import REDRIVE_PERMISSION


@extend_schema_view(
    list=extend_schema(
        summary="List your teams' integrations",
        responses={200: IntegrationSerializer(many=True), 401: UNAUTHENTICATED},
    ),
    retrieve=extend_schema(
        summary="Get an integration", responses={200: IntegrationSerializer, **COMMON}
    ),
    create=extend_schema(
        summary="Create an integration; the answer carries its key, once",
        request=IntegrationInputSerializer,
        responses={
            201: IntegrationWithKeySerializer,
            400: INVALID,
            401: UNAUTHENTICATED,
        },
    ),
    partial_update=extend_schema(
        summary="Change an integration's settings",
        request=IntegrationUpdateSerializer,
        responses={200: IntegrationSerializer, 400: INVALID, **COMMON},
    ),
)
class IntegrationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Integration],
):
    queryset = Integration.objects.none()
    serializer_class = IntegrationSerializer
    filterset_fields = ["kind", "enabled"]
    search_fields = ["name", "key_prefix"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Integration]:
        return selectors.integration_list(user=self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_input(IntegrationInputSerializer, request)
        integration, key = services.integration_create(**data)
        body = IntegrationWithKeySerializer(
            integration, context={"request": request, "key": key}
        ).data
        return Response(body, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        integration = self.get_object()
        data = valid_input(IntegrationUpdateSerializer, request, partial=True)
        integration = services.integration_update(integration=integration, **data)
        return Response(
            IntegrationSerializer(integration, context={"request": request}).data
        )

    @extend_schema(
        summary="Rotate the key; the old one keeps working for overlap_hours",
        request=RotateKeySerializer,
        responses={200: IntegrationWithKeySerializer, 400: INVALID, **COMMON},
    )
    @action(detail=True, methods=["post"], url_path="rotate-key")
    def rotate_key(self, request: Request, pk: str) -> Response:
        integration = self.get_object()
        data = valid_input(RotateKeySerializer, request)
        integration, key = services.integration_rotate_key(
            integration=integration, overlap=timedelta(hours=data["overlap_hours"])
        )
        body = IntegrationWithKeySerializer(
            integration, context={"request": request, "key": key}
        ).data
        return Response(body)


@extend_schema_view(
    list=extend_schema(
        summary="List alerts of your teams' services",
        responses={200: AlertSerializer(many=True), 401: UNAUTHENTICATED},
    ),
    retrieve=extend_schema(
        summary="Get an alert", responses={200: AlertSerializer, **COMMON}
    ),
)
class AlertViewSet(viewsets.ReadOnlyModelViewSet[Alert]):
    queryset = Alert.objects.none()
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    search_fields = ["dedup_key", "summary"]

    def get_queryset(self) -> QuerySet[Alert]:
        return selectors.alert_list(user=self.request.user)


@extend_schema_view(
    list=extend_schema(
        summary="Events as received, raw payload included",
        responses={200: AlertEventSerializer(many=True), 401: UNAUTHENTICATED},
    ),
    retrieve=extend_schema(
        summary="Get one received event",
        responses={200: AlertEventSerializer, **COMMON},
    ),
)
class AlertEventViewSet(viewsets.ReadOnlyModelViewSet[AlertEvent]):
    queryset = AlertEvent.objects.none()
    serializer_class = AlertEventSerializer
    filterset_class = AlertEventFilter
    write_permissions = {"redrive": [REDRIVE_PERMISSION]}

    def get_queryset(self) -> QuerySet[AlertEvent]:
        return selectors.alert_event_list(user=self.request.user)

    @extend_schema(
        summary="Apply a failed (quarantined) event again",
        request=None,
        responses={202: AlertEventSerializer, 409: CONFLICT, **COMMON},
    )
    @action(detail=True, methods=["post"])
    def redrive(self, request: Request, pk: str) -> Response:
        event = services.alert_event_redrive(event=self.get_object())
        return Response(
            AlertEventSerializer(event).data, status=status.HTTP_202_ACCEPTED
        )


class UserReportView(APIView):
    """Report a problem (SOP: user reports and tickets); it becomes an alert."""

    # A report opens an incident, as declaring one does.
    write_permissions = {"post": ["incidents.add_incident"]}

    @extend_schema(
        summary="Report a problem with a service",
        request=UserReportSerializer,
        responses={202: AlertEventSerializer, 400: INVALID, 401: UNAUTHENTICATED},
    )
    def post(self, request: Request) -> Response:
        data = valid_input(UserReportSerializer, request)
        severity = data.get("severity")
        event = services.user_report_create(
            service=data["service"],
            title=data["title"],
            description=data["description"],
            severity=severity.code if severity else "",
            by=request_actor(request),
        )
        return Response(
            AlertEventSerializer(event).data, status=status.HTTP_202_ACCEPTED
        )


@extend_schema_view(
    list=extend_schema(
        summary="List maintenance windows",
        responses={200: MaintenanceWindowSerializer(many=True), 401: UNAUTHENTICATED},
    ),
    retrieve=extend_schema(
        summary="Get a maintenance window",
        responses={200: MaintenanceWindowSerializer, **COMMON},
    ),
    create=extend_schema(
        summary="Plan a maintenance window",
        responses={
            201: MaintenanceWindowSerializer,
            400: INVALID,
            401: UNAUTHENTICATED,
        },
    ),
)
class MaintenanceWindowViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[MaintenanceWindow],
):
    queryset = MaintenanceWindow.objects.none()
    serializer_class = MaintenanceWindowSerializer
    filterset_fields = ["service__slug"]

    def get_queryset(self) -> QuerySet[MaintenanceWindow]:
        return selectors.maintenance_window_list(user=self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_input(MaintenanceWindowSerializer, request)
        window = services.maintenance_window_create(by=request_actor(request), **data)
        body = MaintenanceWindowSerializer(window, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The alerts this window kept quiet",
        responses={200: AlertSerializer(many=True), **COMMON},
    )
    @action(detail=True, methods=["get"], filterset_fields=[])
    def alerts(self, request: Request, pk: str) -> Response:
        window = self.get_object()
        alerts = window.suppressed_alerts.order_by("first_seen_at")
        page = self.paginate_queryset(alerts)  # type: ignore[arg-type]
        return self.get_paginated_response(AlertSerializer(page, many=True).data)
