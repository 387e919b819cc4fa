"""Every periodic task in one table. django-celery-beat's DatabaseScheduler copies these into its
tables at start (admins may pause or re-time them there); exactly one beat process runs."""

from __future__ import annotations

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "core.heartbeat": {
        "task": "core.heartbeat",
        "schedule": 60.0,
        "options": {"queue": "default", "expires": 55},
    },
}
