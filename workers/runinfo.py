"""Prints shell assignments `make run` needs from the settings (one source of truth for names)."""

import shlex

from shared.config import get_settings
from shared.queueing import Queue, queue_name
from workers.providers.registry import emulated_providers


def main() -> None:
    settings = get_settings()
    values = {
        "PREFIX": settings.redis_key_prefix,
        "QUEUES": ",".join(queue_name(settings, queue) for queue in Queue),
        "INTERACTIVE_QUEUE": queue_name(settings, Queue.interactive),
        "BACKGROUND_QUEUES": ",".join(
            queue_name(settings, queue) for queue in Queue if queue is not Queue.interactive
        ),
        "EMULATED": " ".join(emulated_providers(settings)),
        "EMULATOR_PORT": str(settings.emulator_port),
        "FLOWER_AUTH": settings.flower_basic_auth or "",
        "WORKER_METRICS_PORT": str(settings.worker_metrics_port),
    }
    for name, value in values.items():
        print(f"{name}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
