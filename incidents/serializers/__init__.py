"""API input and output shapes: core (incidents) and ingest (alerts)."""
