from tests.faults.pages import receiver
from tests.faults.services import private_postgres, private_rabbitmq
from tests.live import live_vigil, scratch_database, worker, workers

__all__ = [
    "live_vigil",
    "private_postgres",
    "private_rabbitmq",
    "receiver",
    "scratch_database",
    "worker",
    "workers",
]
