"""Create the demo user once, printing its random password that one time."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.services import ensure_demo_user


class Command(BaseCommand):
    help = "Create the demo user (with a paper account) if missing; print its password once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default=settings.DEMO_USERNAME)

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user, password = ensure_demo_user(username=username)
        if password is None:
            self.stdout.write(
                f"Demo user '{user.username}' exists (its password was printed when it was made; "
                f"`python manage.py changepassword {user.username}` sets a new one)."
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo user created -> username: {user.username}  password: {password}  (shown once)"
                )
            )
