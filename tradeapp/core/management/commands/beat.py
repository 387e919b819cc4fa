"""Run Celery beat with the database scheduler. Run exactly one per deployment."""

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the one Celery beat (django-celery-beat DatabaseScheduler)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args: Any, loglevel: str, **options: Any) -> None:
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tradeapp",
            "beat",
            "-l",
            loglevel,
            "-S",
            settings.CELERY_BEAT_SCHEDULER,
            "--pidfile=",
        ]
        os.execv(sys.executable, argv)  # noqa: S606 - replace this process: signals reach celery directly
