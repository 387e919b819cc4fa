"""tradeapp: a self-hosted trading platform (Django + Channels + Celery)."""

from tradeapp.celery import app as celery_app

__all__ = ["celery_app"]
