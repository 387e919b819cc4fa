"""Rule 3 of the design: the SDK, the built-ins, the engine, analysis and metrics import no Django."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_pure_strategy_and_backtest_modules_import_without_django() -> None:
    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys\n"
        "import strategies.sdk, strategies.builtins\n"
        "import backtests.engine, backtests.analysis, backtests.reports\n"
        "import portfolio.metrics, portfolio.analytics, portfolio.metric_format\n"
        "leaked = sorted(name for name in sys.modules if name == 'django' or name.startswith('django.'))\n"
        "assert not leaked, leaked\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(root)

    result = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
