"""The Celery application: queues, reliability defaults and the one table of periodic tasks."""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradeapp.settings")

app = Celery("tradeapp")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.on_after_finalize.connect
def _configure_queues(sender: Celery, **_: object) -> None:
    from django.conf import settings

    sender.conf.task_queues = [Queue(name) for name in settings.CELERY_TASK_QUEUES_NAMES]
    from tradeapp.schedules import BEAT_SCHEDULE

    sender.conf.beat_schedule = BEAT_SCHEDULE


app.autodiscover_tasks()
