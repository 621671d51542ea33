"""REST endpoints of the notifications app: parse, call one service, answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import COMMON, CONFLICT, INVALID, UNAUTHENTICATED, valid_input
from config.auth import request_actor
from notifications import selectors, services
from notifications.filters import DeliveryFilter
from notifications.models import Channel, ContactMethod, Delivery, NotificationRule
from notifications.serializers import (
    ChannelCreatedSerializer,
    ChannelInputSerializer,
    ChannelSerializer,
    ChannelUpdateSerializer,
    ContactMethodCreatedSerializer,
    ContactMethodInputSerializer,
    ContactMethodSerializer,
    DeliverySerializer,
    NotificationRuleInputSerializer,
    NotificationRuleSerializer,
    VerifySerializer,
)

DELETED = OpenApiResponse(description="Deleted.")
LIST_ERRORS = {400: INVALID, 401: UNAUTHENTICATED}


@extend_schema_view(
    list=extend_schema(
        summary="List your contact methods",
        responses={200: ContactMethodSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get a contact method",
        responses={200: ContactMethodSerializer, **COMMON},
    ),
    create=extend_schema(
        summary="Add a contact method; a verification code is sent to it",
        request=ContactMethodInputSerializer,
        responses={
            201: ContactMethodCreatedSerializer,
            400: INVALID,
            401: UNAUTHENTICATED,
        },
    ),
    destroy=extend_schema(
        summary="Remove a contact method", responses={204: DELETED, **COMMON}
    ),
)
class ContactMethodViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[ContactMethod],
):
    queryset = ContactMethod.objects.none()
    serializer_class = ContactMethodSerializer
    filterset_fields = ["kind"]

    def get_queryset(self) -> QuerySet[ContactMethod]:
        return selectors.contact_method_list(user=self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_input(ContactMethodInputSerializer, request)
        method = services.contact_method_create(user=request_actor(request), **data)
        body = ContactMethodCreatedSerializer(method).data
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: ContactMethod) -> None:
        services.contact_method_delete(contact_method=instance)

    @extend_schema(
        summary="Confirm the code the contact method received",
        request=VerifySerializer,
        responses={200: ContactMethodSerializer, 400: INVALID, **COMMON},
    )
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk: str) -> Response:
        method = self.get_object()  # 404 for others' methods before any 400
        data = valid_input(VerifySerializer, request)
        method = services.contact_method_verify(
            contact_method=method, code=data["code"]
        )
        return Response(ContactMethodSerializer(method).data)

    @extend_schema(
        summary="Send a new verification code",
        request=None,
        responses={202: DeliverySerializer, 400: INVALID, **COMMON},
    )
    @action(detail=True, methods=["post"], url_path="send-code")
    def send_code(self, request: Request, pk: str) -> Response:
        delivery = services.contact_method_send_verification(
            contact_method=self.get_object()
        )
        return Response(
            DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED
        )

    @extend_schema(
        summary="Send a test message to a verified contact method",
        request=None,
        responses={202: DeliverySerializer, 400: INVALID, **COMMON},
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str) -> Response:
        delivery = services.contact_method_send_test(contact_method=self.get_object())
        return Response(
            DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED
        )


@extend_schema_view(
    list=extend_schema(
        summary="List your notification rules",
        responses={200: NotificationRuleSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get a notification rule",
        responses={200: NotificationRuleSerializer, **COMMON},
    ),
    create=extend_schema(
        summary="Reach you on a contact method, this long after a page starts",
        request=NotificationRuleInputSerializer,
        responses={201: NotificationRuleSerializer, 400: INVALID, 401: UNAUTHENTICATED},
    ),
    destroy=extend_schema(
        summary="Remove a notification rule", responses={204: DELETED, **COMMON}
    ),
)
class NotificationRuleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[NotificationRule],
):
    queryset = NotificationRule.objects.none()
    serializer_class = NotificationRuleSerializer
    filterset_fields = ["urgency"]

    def get_queryset(self) -> QuerySet[NotificationRule]:
        return selectors.notification_rule_list(user=self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_input(NotificationRuleInputSerializer, request)
        rule = services.notification_rule_create(
            user=request_actor(request),
            contact_method=data["contact_method"],
            urgency=data["urgency"],
            delay=data.get("delay") or timedelta(0),
        )
        body = NotificationRuleSerializer(rule).data
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="List your teams' and services' broadcast channels",
        responses={200: ChannelSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get a channel", responses={200: ChannelSerializer, **COMMON}
    ),
    create=extend_schema(
        summary="Add a broadcast channel to a team or a service",
        request=ChannelInputSerializer,
        responses={201: ChannelCreatedSerializer, 400: INVALID, 401: UNAUTHENTICATED},
    ),
    partial_update=extend_schema(
        summary="Change a channel",
        request=ChannelUpdateSerializer,
        responses={200: ChannelSerializer, 400: INVALID, **COMMON},
    ),
    destroy=extend_schema(
        summary="Remove a channel", responses={204: DELETED, **COMMON}
    ),
)
class ChannelViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Channel],
):
    queryset = Channel.objects.none()
    serializer_class = ChannelSerializer
    filterset_fields = ["kind", "enabled"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Channel]:
        return selectors.channel_list(user=self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = valid_input(ChannelInputSerializer, request)
        channel = services.channel_create(**data)
        body = ChannelCreatedSerializer(channel).data
        return Response(body, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        channel = self.get_object()
        data = valid_input(ChannelUpdateSerializer, request, partial=True)
        channel = services.channel_update(channel=channel, **data)
        return Response(ChannelSerializer(channel).data)


@extend_schema_view(
    list=extend_schema(
        summary="The delivery log: every message to every destination",
        responses={200: DeliverySerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get a delivery", responses={200: DeliverySerializer, **COMMON}
    ),
)
class DeliveryViewSet(viewsets.ReadOnlyModelViewSet[Delivery]):
    queryset = Delivery.objects.none()
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter
    ordering_fields = ["created_at", "due_at", "sent_at"]
    # As the admin's "Send again" action: whoever sees a delivery may retry it.
    write_permissions = {"retry": ["notifications.view_delivery"]}

    def get_queryset(self) -> QuerySet[Delivery]:
        return selectors.delivery_list(user=self.request.user)

    @extend_schema(
        summary="Send a failed or cancelled delivery again",
        request=None,
        responses={202: DeliverySerializer, 409: CONFLICT, **COMMON},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        delivery = services.delivery_retry(delivery=self.get_object())
        return Response(
            DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED
        )
