"""REST endpoints of drill reports and trends: read-only.

A drill is looked up among the caller's teams' incidents whose details the
caller may see, by public id, as in the incident API: an incident that is
no drill, another team's, or none at all is the same 404.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import COMMON, INVALID, UNAUTHENTICATED, valid_query
from config.serializers import ErrorSerializer
from escalation.drill_document import drill_download
from escalation.drill_scores import DrillReport
from escalation.drill_selectors import drill_report_get, drill_trends
from escalation.serializers.drill_reports import (
    DrillReportSerializer,
    DrillTrendsQuerySerializer,
    DrillTrendsSerializer,
)

NO_DRILL = OpenApiResponse(
    ErrorSerializer,
    "No drill with this id among the caller's teams' incidents (an incident "
    "that is not a drill is not found either).",
)


class DrillReportBase(APIView):
    # Reads only: any other method is a 405, asking no model permission.
    permission_classes = [IsAuthenticated]

    def report(self, request: Request, public_id: str) -> DrillReport:
        report = drill_report_get(
            user=request.user, public_id=public_id, now=timezone.now()
        )
        if report is None:
            raise NotFound(f"no drill {public_id} among your teams' incidents")
        return report


class DrillReportView(DrillReportBase):
    @extend_schema(
        summary="A drill's report: responses, cadence, checklist, what to improve",
        responses={200: DrillReportSerializer, **COMMON, 404: NO_DRILL},
    )
    def get(self, request: Request, public_id: str) -> Response:
        report = self.report(request, public_id)
        return Response(DrillReportSerializer(report).data)


class DrillReportMarkdownView(DrillReportBase):
    @extend_schema(
        summary="A drill's report as a Markdown document",
        responses={
            (200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR),
            **COMMON,
            404: NO_DRILL,
        },
    )
    def get(self, request: Request, public_id: str) -> HttpResponse:
        return drill_download(self.report(request, public_id))


class DrillTrendsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="How a team's drills went, one line per drill, oldest first",
        parameters=[DrillTrendsQuerySerializer],
        responses={200: DrillTrendsSerializer, 400: INVALID, 401: UNAUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        team = valid_query(DrillTrendsQuerySerializer, request)["team"]
        trends = drill_trends(user=request.user, team=team, now=timezone.now())
        return Response(
            DrillTrendsSerializer({"team": team.slug, "results": trends}).data
        )
