"""The shared kernel's app config: loads the Celery application once Django is set up."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tradeapp.core"
    label = "core"

    def ready(self) -> None:
        # Importing the Celery app here (not in tradeapp/__init__.py) makes it the current app in every
        # Django process, so ``.delay()`` uses our broker, while the pure modules can import
        # ``tradeapp.core.decimals`` without pulling in Celery and Django. ``celery -A tradeapp`` finds
        # ``tradeapp.celery`` by itself.
        from tradeapp import celery  # noqa: F401
