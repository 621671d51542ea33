"""The security response on the incident's admin page: evidence (read
only: it is appended through the API) and who sees the incident."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from config.auth import request_actor
from incidents import selectors
from incidents.models import EvidenceRecord, Incident
from incidents.services.checklists import incident_may_override
from incidents.services.security import incident_set_visibility

VISIBILITY_FIELDS = ("restricted", "named_responders")


def _check_edits(request: HttpRequest, form: Any, data: dict[str, Any]) -> None:
    incident: Incident = form.instance
    service = data.get("service")
    if service is not None and service.team_id != incident.service.team_id:
        form.add_error("service", "An incident stays with its team's services.")
    changed = set(VISIBILITY_FIELDS) & set(form.changed_data)
    if changed and not incident_may_override(
        incident=incident, user=request_actor(request)
    ):
        form.add_error(
            sorted(changed)[0],
            "Only the incident commander, a team lead or an administrator may "
            "change who sees an incident.",
        )


def _transfers(record: EvidenceRecord) -> SafeString:
    rows = [
        (t.transferred_at, t.from_holder, t.to_holder) for t in record.transfers.all()
    ]
    if not rows:
        return format_html("{}", "")
    return format_html(
        "<ul>{}</ul>",
        format_html_join("", "<li>{:%Y-%m-%d %H:%M}: {} → {}</li>", rows),
    )


class SecurityAdminMixin(admin.ModelAdmin):
    """Restricting an incident goes through its service; the rest of the team
    sees in the list that a restricted incident exists, nothing more."""

    def formfield_for_manytomany(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "named_responders":
            kwargs["queryset"] = selectors.teammate_list(user=request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        """Refuse in the form what the services would refuse on save: a
        service of another team, visibility changed by someone not allowed."""
        base = super().get_form(request, obj, change, **kwargs)

        class Checked(base):  # type: ignore[valid-type,misc]
            def clean(self) -> dict[str, Any]:
                data = super().clean() or {}
                if self.instance.pk is not None:
                    _check_edits(request, self, data)
                return data

        return Checked

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        # Declaring restricts nothing yet: restricting is a change of its own.
        excluded = list(super().get_exclude(request, obj) or [])
        return excluded + list(VISIBILITY_FIELDS) if obj is None else excluded

    def save_visibility(self, request: HttpRequest, obj: Incident, form: Any) -> None:
        if not set(VISIBILITY_FIELDS) & set(form.changed_data):
            return
        incident_set_visibility(
            incident=obj,
            restricted=form.cleaned_data["restricted"],
            responders=form.cleaned_data["named_responders"],
            by=request_actor(request),
            via="admin",
            replace=True,  # the form shows, and so sets, the whole list
        )

    @admin.display(description="Evidence and chain of custody")
    def evidence_chain(self, incident: Incident) -> SafeString:
        """The records as appended (through the API): nobody edits them."""
        records = (
            list(selectors.incident_evidence(incident=incident)) if incident.pk else []
        )
        if not records:
            return format_html("{}", "None recorded.")
        items = format_html_join(
            "",
            "<li>E{}: {} — {} <code>{}</code>, collected by {} at {:%Y-%m-%d %H:%M}, "
            "kept at {}{}</li>",
            (
                (
                    r.pk,
                    r.what,
                    r.hash_algorithm,
                    r.hash,
                    r.collected_by,
                    r.collected_at,
                    r.location,
                    _transfers(r),
                )
                for r in records
            ),
        )
        return format_html("<ul>{}</ul>", items)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        hidden: QuerySet[Incident] = (
            selectors.incident_existence_list(user=request.user)
            .exclude(pk__in=selectors.incident_list(user=request.user).values("pk"))
            .order_by("-detected_at")
        )
        rows = [
            f"{i.public_id} · {i.severity_id} · {i.get_status_display()}"
            for i in hidden[:50]
        ]
        if rows:
            messages.info(
                request,
                "Restricted incidents of your teams (details for their named "
                "responders only): " + "; ".join(rows),
            )
        return super().changelist_view(request, extra_context)
