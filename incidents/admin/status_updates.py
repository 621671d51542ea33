"""Status updates from the admin: a form per incident, and the record list.

The incident's change page shows when the next update is due and links to
the form; the changelist's action opens the same form. Posting goes through
`status_update_post`, as the API does; what the service refuses shows on the
form, and nothing is lost.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from config.auth import request_actor
from config.errors import VigilError
from incidents import selectors
from incidents.models import Incident, StatusUpdate
from incidents.services.status_updates import status_update_post

KEEP = ""


class StatusUpdateForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What we learned or did since the last update.",
    )
    impact = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    next_steps = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    eta = forms.SplitDateTimeField(
        required=False,
        widget=AdminSplitDateTime,
        help_text="When resolution is expected, if known.",
    )
    audience = forms.ChoiceField(choices=StatusUpdate.Audience.choices)
    status = forms.ChoiceField(
        choices=[(KEEP, "Keep the current status"), *Incident.Status.choices],
        required=False,
        help_text="Move the incident with this update (one message, not two).",
    )


class StatusUpdateAdminMixin(admin.ModelAdmin):
    """The "post a status update" form of an incident, and its action."""

    def get_urls(self) -> list[URLPattern]:
        post = path(
            "<int:pk>/status-update/",
            self.admin_site.admin_view(self.status_update_view),
            name="incidents_incident_status_update",
        )
        return [post, *super().get_urls()]

    def status_update_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        incident = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, incident):
            raise PermissionDenied
        form = StatusUpdateForm(
            request.POST or None, initial={"impact": incident.impact}
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                status_update_post(
                    incident=incident,
                    actor=request_actor(request),
                    text=data["text"],
                    impact=data["impact"],
                    next_steps=data["next_steps"],
                    eta=data["eta"],
                    audience=data["audience"],
                    status=data["status"] or None,
                    via="admin",
                )
            except VigilError as error:
                field = str(error.details.get("field", ""))
                form.add_error(field if field in form.fields else None, error.message)
            else:
                self.message_user(
                    request, f"Status update posted: {incident.public_id}"
                )
                change = reverse("admin:incidents_incident_change", args=[pk])
                return HttpResponseRedirect(change)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Post a status update: {incident.public_id}",
            "incident": incident,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(
            request, "admin/incidents/incident/status_update.html", context
        )

    @admin.display(description="Status updates")
    def communication(self, incident: Incident) -> SafeString:
        if not incident.pk:
            return format_html("{}", "—")
        url = reverse("admin:incidents_incident_status_update", args=[incident.pk])
        due = incident.next_update_due_at
        when = (
            f"next update due {timezone.localtime(due):%Y-%m-%d %H:%M}"
            if due
            else "no update due"
        )
        return format_html(
            '{} ({} posted) — <a class="button" href="{}">Post a status update</a>',
            when,
            incident.status_updates.count(),
            url,
        )

    @admin.action(description="Post a status update", permissions=["change"])
    def post_status_update(
        self, request: HttpRequest, queryset: QuerySet[Incident]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(
                request, "Select one incident to post an update of.", messages.WARNING
            )
            return None
        url = reverse(
            "admin:incidents_incident_status_update", args=[queryset.get().pk]
        )
        return HttpResponseRedirect(url)


@admin.register(StatusUpdate)
class StatusUpdateAdmin(admin.ModelAdmin):
    """Posted updates, as they were: a record, never edited."""

    list_display = [
        "incident",
        "posted_at",
        "status",
        "audience",
        "text",
        "posted_by",
        "next_update_due_at",
    ]
    list_filter = ["audience", "status"]
    search_fields = ["incident__public_id", "text"]
    date_hierarchy = "posted_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[StatusUpdate]:
        incidents = selectors.incident_list(user=request.user)
        return StatusUpdate.objects.filter(incident__in=incidents).select_related(
            "incident", "posted_by"
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # posted from the incident, through the service

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
