"""REST endpoints for escalation policies and the preview: parse, call, answer."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import COMMON, CONFLICT, INVALID, UNAUTHENTICATED, valid_input
from escalation.models import EscalationPolicy
from escalation.preview import escalation_preview
from escalation.selectors import escalation_policy_list
from escalation.serializers import (
    EscalationPolicyInputSerializer,
    EscalationPolicySerializer,
    PreviewQuerySerializer,
    PreviewSerializer,
    ServicePolicyInputSerializer,
    ServicePolicySerializer,
)
from escalation.services.policies import (
    escalation_policy_create,
    escalation_policy_delete,
    escalation_policy_update,
    service_set_escalation_policy,
)
from incidents.models import Service
from incidents.selectors import service_list

IN_USE = OpenApiResponse(
    CONFLICT.response, "Services use the policy, or open incidents follow it."
)


@extend_schema_view(
    list=extend_schema(
        summary="List your teams' escalation policies",
        responses={
            200: EscalationPolicySerializer(many=True),
            400: INVALID,
            401: UNAUTHENTICATED,
        },
    ),
    retrieve=extend_schema(
        summary="Get an escalation policy with its levels and targets",
        responses={200: EscalationPolicySerializer, **COMMON},
    ),
    create=extend_schema(
        summary="Create an escalation policy in one of your teams",
        request=EscalationPolicyInputSerializer,
        responses={
            201: EscalationPolicySerializer,
            400: INVALID,
            401: UNAUTHENTICATED,
        },
    ),
    update=extend_schema(
        summary="Replace an escalation policy, levels and all",
        request=EscalationPolicyInputSerializer,
        responses={200: EscalationPolicySerializer, 400: INVALID, **COMMON},
    ),
    partial_update=extend_schema(
        summary="Change an escalation policy; levels, if given, replace all",
        request=EscalationPolicyInputSerializer,
        responses={200: EscalationPolicySerializer, 400: INVALID, **COMMON},
    ),
    destroy=extend_schema(
        summary="Delete an escalation policy nothing uses",
        responses={
            204: OpenApiResponse(description="Deleted."),
            409: IN_USE,
            **COMMON,
        },
    ),
)
class EscalationPolicyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[EscalationPolicy],
):
    queryset = EscalationPolicy.objects.none()
    serializer_class = EscalationPolicySerializer
    filterset_fields = ["team__slug"]
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> QuerySet[EscalationPolicy]:
        return escalation_policy_list(user=self.request.user)

    def _reply(
        self, policy: EscalationPolicy, code: int = status.HTTP_200_OK
    ) -> Response:
        fresh = self.get_queryset().get(pk=policy.pk)
        return Response(EscalationPolicySerializer(fresh).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_input(EscalationPolicyInputSerializer, request)
        return self._reply(escalation_policy_create(**data), status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        policy = self.get_object()  # 404 for outsiders before any 400
        data = valid_input(
            EscalationPolicyInputSerializer,
            request,
            partial=kwargs.get("partial", False),
        )
        return self._reply(escalation_policy_update(policy=policy, **data))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        escalation_policy_delete(policy=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ServiceScopedView(generics.GenericAPIView[Service]):
    lookup_field = "slug"
    filter_backends: list[Any] = []
    pagination_class = None

    def get_queryset(self) -> QuerySet[Service]:
        return service_list(user=self.request.user)


class EscalationPreviewView(ServiceScopedView):
    serializer_class = PreviewSerializer

    @extend_schema(
        summary="Who an incident of this severity would page, when and how",
        description="A dry run of the service's escalation policy with the "
        "schedules and everyone's notification rules: one pass through the "
        "levels as the engine climbs them when nobody acknowledges.",
        parameters=[PreviewQuerySerializer],
        responses={200: PreviewSerializer, 400: INVALID, **COMMON},
    )
    def get(self, request: Request, slug: str) -> Response:
        service = self.get_object()
        query = PreviewQuerySerializer(
            data=request.query_params, context={"request": request}
        )
        query.is_valid(raise_exception=True)
        preview = escalation_preview(service=service, **query.validated_data)
        return Response(PreviewSerializer(preview).data)


class ServicePolicyView(ServiceScopedView):
    serializer_class = ServicePolicySerializer

    @extend_schema(
        summary="Set the service's escalation policy (null: nobody is paged)",
        request=ServicePolicyInputSerializer,
        responses={200: ServicePolicySerializer, 400: INVALID, **COMMON},
    )
    def put(self, request: Request, slug: str) -> Response:
        service = self.get_object()
        data = valid_input(ServicePolicyInputSerializer, request)
        service = service_set_escalation_policy(service=service, policy=data["policy"])
        return Response(ServicePolicySerializer(service).data)
