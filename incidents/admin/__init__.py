"""Django admin for responders: every change goes through the services."""

from incidents.admin import core, ingest, runbooks

__all__ = ["core", "ingest", "runbooks"]
