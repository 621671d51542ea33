from tests.live import live_vigil, scratch_database, worker, workers

__all__ = ["live_vigil", "scratch_database", "worker", "workers"]
