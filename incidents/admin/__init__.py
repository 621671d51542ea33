"""Django admin for responders: every change goes through the services."""

from incidents.admin import (
    checklists,
    core,
    ingest,
    reviews,
    runbooks,
    setup,
    status_updates,
)

__all__ = [
    "checklists",
    "core",
    "ingest",
    "reviews",
    "runbooks",
    "setup",
    "status_updates",
]
