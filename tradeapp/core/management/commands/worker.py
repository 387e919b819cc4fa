"""Run a Celery worker. Scale out by starting more (on this host or others) against the same broker."""

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run a Celery worker consuming the given queues (default: all)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--queues", default=",".join(settings.CELERY_TASK_QUEUES_NAMES))
        parser.add_argument("--concurrency", type=int, default=int(os.environ.get("CELERY_CONCURRENCY", "2")))
        parser.add_argument("--name", default="worker@%h")
        parser.add_argument("--loglevel", default="INFO")

    def handle(
        self, *args: Any, queues: str, concurrency: int, name: str, loglevel: str, **options: Any
    ) -> None:
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tradeapp",
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "-n",
            name,
            "-l",
            loglevel,
            "--without-gossip",
            "--without-mingle",
        ]
        os.execv(sys.executable, argv)  # noqa: S606 - replace this process: signals reach celery directly
