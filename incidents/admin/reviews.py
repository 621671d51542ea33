"""Admin of post-incident reviews, action items and root-cause tags.

The review page edits the document's Markdown sections and its owner,
schedules the meeting (an invitation to the responders) and waives with a
reason; "Move to the next state" advances the selected reviews. Every
change goes through the services; a refusal is shown, not raised.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from config.admin_actions import apply_each
from config.auth import request_actor
from config.errors import VigilError
from incidents import selectors
from incidents.admin.scoping import TeamScopedAdmin
from incidents.models import (
    ActionItem,
    Incident,
    IncidentLink,
    PostIncidentReview,
    RootCauseTag,
)
from incidents.review_checklist import review_checklist
from incidents.review_document import SECTION_FIELDS, blameless_hints, review_download
from incidents.services.action_items import (
    EDITABLE,
    action_item_create,
    action_item_update,
)
from incidents.services.incident import incident_transition
from incidents.services.recurrence import root_cause_tag_create
from incidents.services.review_notices import review_meeting_schedule
from incidents.services.reviews import (
    NEXT,
    review_advance,
    review_update,
    review_waive,
)

MARKDOWN = forms.Textarea(attrs={"rows": 8, "cols": 100, "class": "vLargeTextField"})


class IncidentReviewAdminMixin(admin.ModelAdmin):
    """The incident page's review link, the incidents it repeats, and the
    close action (which the review may hold back)."""

    @admin.display(description="Post-incident review")
    def post_incident_review(self, incident: Incident) -> SafeString:
        review = PostIncidentReview.objects.filter(incident=incident.pk).first()
        if review is None:
            return format_html("{}", "None required (yet)")
        url = reverse("admin:incidents_postincidentreview_change", args=[review.pk])
        return format_html('<a href="{}">{}</a>', url, review.get_state_display())

    @admin.display(description="Repeat of")
    def repeat_of(self, incident: Incident) -> SafeString:
        links = IncidentLink.objects.filter(incident=incident.pk).select_related(
            "repeats"
        )
        if not links:
            return format_html("{}", "—")
        return format_html_join(
            ", ",
            '<a href="{}">{}</a> ({})',
            (
                (
                    reverse("admin:incidents_incident_change", args=[link.repeats_id]),
                    link.repeats.public_id,
                    link.get_reason_display().lower(),
                )
                for link in links
            ),
        )

    @admin.action(description="Close selected incidents", permissions=["change"])
    def close(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        apply_each(
            request,
            self,
            queryset,
            "Closed",
            lambda i: incident_transition(
                incident=i,
                to=Incident.Status.CLOSED,
                by=request_actor(request),
                via="admin",
            ),
            label=lambda i: i.public_id,
        )


class ReviewAdminForm(forms.ModelForm):
    schedule_meeting_at = forms.SplitDateTimeField(
        required=False,
        widget=AdminSplitDateTime,
        help_text="Schedule (or move) the review meeting: the responders get "
        "an e-mail invitation.",
    )
    waive_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Waive the PIR with this reason (incident commander or team "
        "lead only).",
    )

    class Meta:
        model = PostIncidentReview
        fields = ["owner", *SECTION_FIELDS]
        widgets = dict.fromkeys(SECTION_FIELDS, MARKDOWN)


def _incident_team_members(review: PostIncidentReview) -> QuerySet[User]:
    return User.objects.filter(
        is_active=True, memberships__team=review.incident.service.team_id
    ).order_by("username")


@admin.register(PostIncidentReview)
class PostIncidentReviewAdmin(TeamScopedAdmin):
    form = ReviewAdminForm
    list_display = [
        "incident",
        "state",
        "owner",
        "initial_due_at",
        "meeting_due_at",
        "meeting_at",
    ]
    list_filter = ["state"]
    search_fields = ["incident__public_id", "incident__title"]
    list_select_related = ["incident", "owner"]
    actions = ["advance"]
    readonly_fields = [
        "incident",
        "state",
        "reason",
        "resolved_at",
        "initial_due_at",
        "meeting_due_at",
        "initial_published_at",
        "meeting_at",
        "meeting_held_at",
        "attendee_names",
        "published_at",
        "waived_at",
        "waived_by",
        "waive_reason_given",
        "after_incident",
        "hints",
        "export",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PostIncidentReview]:
        incidents = selectors.incident_list(user=request.user)
        return PostIncidentReview.objects.filter(incident__in=incidents)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kw: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kw)
        if obj is not None:
            owner: Any = form.base_fields["owner"]
            owner.queryset = _incident_team_members(obj)
        return form

    @admin.display(description="Attendees")
    def attendee_names(self, review: PostIncidentReview) -> str:
        return ", ".join(u.get_username() for u in review.attendees.all()) or "—"

    @admin.display(description="Waive reason")
    def waive_reason_given(self, review: PostIncidentReview) -> str:
        return review.waive_reason or "—"

    @admin.display(description="After Incident checklist")
    def after_incident(self, review: PostIncidentReview) -> SafeString:
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} {}{}</li>",
                (
                    (
                        "☑" if item["done"] else "☐",
                        item["label"],
                        " (by the PIR's state)" if item["proved"] else "",
                    )
                    for item in review_checklist(review=review)
                ),
            ),
        )

    @admin.display(description="Blameless review")
    def hints(self, review: PostIncidentReview) -> SafeString:
        found = blameless_hints(review=review)
        if not found:
            return format_html("{}", "No person named in the root cause.")
        return format_html_join("", "<p><strong>{}</strong></p>", ((h,) for h in found))

    @admin.display(description="Report")
    def export(self, review: PostIncidentReview) -> SafeString:
        url = reverse("admin:incidents_postincidentreview_export", args=[review.pk])
        return format_html('<a href="{}">Download Markdown</a>', url)

    def get_urls(self) -> list[URLPattern]:
        export = path(
            "<int:pk>/pir.md",
            self.admin_site.admin_view(self.export_view),
            name="incidents_postincidentreview_export",
        )
        return [export, *super().get_urls()]

    def export_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        review = get_object_or_404(self.get_queryset(request), pk=pk)
        return review_download(review=review)

    def save_model(
        self, request: HttpRequest, obj: PostIncidentReview, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        by = request_actor(request)
        try:
            sections = {f: data[f] for f in SECTION_FIELDS if f in form.changed_data}
            owner = data["owner"] if "owner" in form.changed_data else None
            if sections or owner is not None:
                review_update(
                    review=obj, by=by, via="admin", owner=owner, sections=sections
                )
            if data.get("schedule_meeting_at"):
                review_meeting_schedule(
                    review=obj, at=data["schedule_meeting_at"], by=by, via="admin"
                )
            if data.get("waive_reason", "").strip():
                review_waive(
                    review=obj, reason=data["waive_reason"], by=by, via="admin"
                )
        except VigilError as error:
            self.message_user(request, error.message, messages.ERROR)
        for hint in blameless_hints(review=PostIncidentReview.objects.get(pk=obj.pk)):
            self.message_user(request, hint, messages.WARNING)

    def save_related(
        self, request: HttpRequest, form: Any, formsets: Any, change: bool
    ) -> None:
        """The services above saved everything; the form's own save is skipped."""

    @admin.action(description="Move to the next state", permissions=["change"])
    def advance(
        self, request: HttpRequest, queryset: QuerySet[PostIncidentReview]
    ) -> None:
        apply_each(
            request,
            self,
            queryset,
            "Moved on",
            lambda r: review_advance(
                review=r,
                to=NEXT.get(r.state, r.state),
                by=request_actor(request),
                via="admin",
                attendees=list(r.attendees.all()),
            ),
            label=lambda r: r.incident.public_id,
        )


class ActionItemAdminForm(forms.ModelForm):
    ticket_url = forms.URLField(required=False, max_length=500, assume_scheme="https")

    class Meta:
        model = ActionItem
        fields = [
            "incident",
            "title",
            "description",
            "owner",
            "due_date",
            "priority",
            "status",
            "wont_do_reason",
            "ticket_url",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("status") == ActionItem.Status.WONT_DO
            and not (data.get("wont_do_reason") or "").strip()
        ):
            self.add_error("wont_do_reason", "Say why it will not be done.")
        return data


@admin.register(ActionItem)
class ActionItemAdmin(TeamScopedAdmin):
    form = ActionItemAdminForm
    list_display = ["title", "incident", "owner", "due_date", "priority", "status"]
    list_filter = ["status", "priority", "owner"]
    search_fields = ["title", "incident__public_id"]
    list_select_related = ["incident", "owner"]
    readonly_fields = ["created_by", "created_at", "finished_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ActionItem]:
        return selectors.action_item_list(user=request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*self.readonly_fields, *(["incident"] if obj is not None else [])]

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "incident":
            kwargs["queryset"] = selectors.incident_list(user=request.user)
        if db_field.name == "owner":
            kwargs["queryset"] = selectors.teammate_list(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: ActionItem, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        by = request_actor(request)
        try:
            if not change:
                created = action_item_create(
                    incident=data["incident"],
                    title=data["title"],
                    owner=data["owner"],
                    due_date=data["due_date"],
                    by=by,
                    via="admin",
                    description=data["description"],
                    priority=data["priority"],
                    ticket_url=data["ticket_url"],
                )
                obj.pk = created.pk
                if data["status"] == ActionItem.Status.OPEN:
                    return
                obj = created
            edits = {f: data[f] for f in form.changed_data if f in EDITABLE}
            action_item_update(
                item=obj,
                by=by,
                via="admin",
                status=data["status"],
                wont_do_reason=data["wont_do_reason"],
                **edits,
            )
        except VigilError as error:
            self.message_user(request, error.message, messages.ERROR)


@admin.register(RootCauseTag)
class RootCauseTagAdmin(TeamScopedAdmin):
    list_display = ["name", "slug", "team"]
    list_filter = ["team"]
    search_fields = ["name", "slug"]
    fields = ["team", "name", "description"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RootCauseTag]:
        return selectors.root_cause_tag_list(user=request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["team", "name"] if obj is not None else []

    def save_model(
        self, request: HttpRequest, obj: RootCauseTag, form: Any, change: bool
    ) -> None:
        if change:  # only the description changes: nothing links by it
            obj.save(update_fields=["description"])
            return
        try:
            created = root_cause_tag_create(
                team=obj.team, name=obj.name, description=obj.description
            )
        except VigilError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        obj.pk = created.pk
