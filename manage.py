#!/usr/bin/env python
"""Django's command-line utility. Platform processes: `manage.py web|worker|beat`; everything at once
with the embedded services: `python -m tradeapp.launcher run` (what `make run` calls)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradeapp.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
