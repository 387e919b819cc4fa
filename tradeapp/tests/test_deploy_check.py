"""Production settings pass Django's deployment checklist with no warnings."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow  # a whole Django process
def test_check_deploy_has_no_warnings_in_production():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        TRADEAPP_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="trade.example.com",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "key", ["", "django-insecure-development-only-key-never-use-in-production-0123456789"]
)
def test_production_refuses_to_start_without_a_real_secret_key(key):
    result = run_manage(
        "check", TRADEAPP_ENV="production", DJANGO_SECRET_KEY=key, DJANGO_ALLOWED_HOSTS="trade.example.com"
    )

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
