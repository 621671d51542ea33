"""The one shape of a refusal that every app's services raise.

The API answers it with its status code and `{"detail", "code", …details}`;
the admin shows its message.
"""

from __future__ import annotations


class VigilError(Exception):
    """A request Vigil refuses, with a message for the user."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
