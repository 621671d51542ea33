"""What every admin bulk action does: apply a service to each row, report."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme

from config.errors import VigilError

M = TypeVar("M", bound=Model)


def apply_each(
    request: HttpRequest,
    modeladmin: admin.ModelAdmin,
    queryset: QuerySet[M],
    verb: str,
    change: Callable[[M], object],
    label: Callable[[M], str] = str,
) -> None:
    """Apply `change` to each row; report successes and refusals."""
    done, refused = [], []
    for row in queryset:
        try:
            change(row)
            done.append(label(row))
        except VigilError as error:
            refused.append(f"{label(row)}: {error.message}")
    if done:
        modeladmin.message_user(request, f"{verb}: {', '.join(done)}", messages.SUCCESS)
    for line in refused:
        modeladmin.message_user(request, line, messages.WARNING)


def redirect_back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    """Return to the page the form said it came from (`next`, on this site
    only), else to `default`."""
    back = str(request.POST.get("next", ""))
    safe = url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return HttpResponseRedirect(back if back and safe else default)
