"""Reads of the incident core, scoped to what a user may see."""

from __future__ import annotations

from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.models import User as Account
from django.db.models import Model, QuerySet

from incidents.models import (
    ActionItem,
    Alert,
    AlertEvent,
    ChangeEvent,
    Incident,
    Integration,
    MaintenanceWindow,
    RootCauseTag,
    Service,
    SeverityLevel,
    Team,
    TimelineEvent,
)

User = AbstractBaseUser | AnonymousUser
M = TypeVar("M", bound=Model)


def _sees_everything(user: User) -> bool:
    return bool(getattr(user, "is_superuser", False))


def _scoped(queryset: QuerySet[M], user: User, team_path: str) -> QuerySet[M]:
    """Keep the rows whose team (at `team_path`) has `user` as a member."""
    if _sees_everything(user):
        return queryset
    if not user.is_authenticated:
        return queryset.none()
    return queryset.filter(**{f"{team_path}memberships__user": user})


def team_list(*, user: User) -> QuerySet[Team]:
    """Return the teams `user` belongs to (every team for a superuser)."""
    return _scoped(Team.objects.all(), user, "")


def teammate_list(*, user: User) -> QuerySet[Account]:
    """Return the active members of `user`'s teams (every active user for a
    superuser): whom `user` may name as a target, a role or a page."""
    users = Account.objects.filter(is_active=True).order_by("username")
    if _sees_everything(user):
        return users
    return users.filter(memberships__team__in=team_list(user=user)).distinct()


def service_list(*, user: User) -> QuerySet[Service]:
    """Return the services of `user`'s teams."""
    return _scoped(Service.objects.select_related("team"), user, "team__")


def incident_list(*, user: User) -> QuerySet[Incident]:
    """Return the incidents of `user`'s teams' services, newest first."""
    incidents = Incident.objects.select_related(
        "severity", "service", "service__team", "created_by"
    ).prefetch_related("role_assignments__user", "affected_services")
    return _scoped(incidents, user, "service__team__")


def incident_timeline(*, incident: Incident) -> QuerySet[TimelineEvent]:
    """Return the incident's timeline, oldest first."""
    return incident.timeline.select_related("actor").order_by("at", "id")


def severity_list() -> QuerySet[SeverityLevel]:
    """Return the severity matrix, most severe first."""
    return SeverityLevel.objects.order_by("rank")


def user_is_member(*, user: User, team: Team) -> bool:
    """Return whether `user` belongs to `team`."""
    return user.is_authenticated and team.memberships.filter(user_id=user.pk).exists()


def integration_list(*, user: User) -> QuerySet[Integration]:
    """Return the integrations of `user`'s teams' services."""
    return _scoped(
        Integration.objects.select_related("service"), user, "service__team__"
    )


def alert_list(*, user: User) -> QuerySet[Alert]:
    """Return the alerts of `user`'s teams' services, newest first."""
    alerts = Alert.objects.select_related("service", "incident")
    return _scoped(alerts, user, "service__team__")


def alert_event_list(*, user: User) -> QuerySet[AlertEvent]:
    """Return the received events of `user`'s teams' services, newest first."""
    events = AlertEvent.objects.select_related("incident").order_by("-id")
    return _scoped(events, user, "service__team__")


def maintenance_window_list(*, user: User) -> QuerySet[MaintenanceWindow]:
    """Return the maintenance windows of `user`'s teams' services."""
    windows = MaintenanceWindow.objects.select_related("service", "created_by")
    return _scoped(windows, user, "service__team__")


def change_event_list(*, user: User) -> QuerySet[ChangeEvent]:
    """Return the change events of `user`'s teams' services."""
    return _scoped(
        ChangeEvent.objects.select_related("service"), user, "service__team__"
    )


def change_list(*, service: Service) -> QuerySet[ChangeEvent]:
    """Return a service's recent changes, newest first."""
    return service.changes.order_by("-timestamp", "-id")


def action_item_list(*, user: User) -> QuerySet[ActionItem]:
    """Return the action items of `user`'s teams' incidents."""
    items = ActionItem.objects.select_related("incident", "owner")
    return _scoped(items, user, "incident__service__team__")


def root_cause_tag_list(*, user: User) -> QuerySet[RootCauseTag]:
    """Return the root-cause vocabularies of `user`'s teams."""
    return _scoped(RootCauseTag.objects.select_related("team"), user, "team__")
