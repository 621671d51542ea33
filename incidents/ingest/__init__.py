"""Receiving alerts: the wire formats of the senders Vigil speaks."""
