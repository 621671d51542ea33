"""REST endpoints: core (incidents, teams, services) and ingest (alerts)."""
