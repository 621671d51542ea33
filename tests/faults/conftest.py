from tests.faults.pages import receiver
from tests.live import live_vigil, scratch_database, worker, workers

__all__ = ["live_vigil", "receiver", "scratch_database", "worker", "workers"]
