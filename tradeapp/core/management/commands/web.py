"""Run the ASGI server (daphne: HTTP + websockets). Several can run behind a proxy: they share the
Redis channel layer."""

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve HTTP and websockets with daphne."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default=os.environ.get("WEB_BIND", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--proxy-headers", action="store_true", help="Trust X-Forwarded-For from a proxy."
        )

    def handle(self, *args: Any, bind: str, port: int, proxy_headers: bool, **options: Any) -> None:
        argv = [sys.executable, "-m", "daphne", "-b", bind, "-p", str(port), "--access-log", "-"]
        if proxy_headers:
            argv.append("--proxy-headers")
        argv.append("tradeapp.asgi:application")
        os.execv(sys.executable, argv)  # noqa: S606 - replace this process: signals reach daphne directly
