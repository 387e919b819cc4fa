"""The OpenAPI schema generates without a warning: every enum has a stable name of its own (a
collision would give clients names like ``StatusDf0Enum`` that change when a field is added)."""

from pathlib import Path

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_schema_generates_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.yml"

    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(target))

    text = target.read_text()
    assert "BacktestStatusEnum:" in text
    assert "DeploymentStatusEnum:" in text
