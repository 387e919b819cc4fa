"""Portfolio pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    account = request.account  # type: ignore[attr-defined]
    pnl = account.cash - account.starting_cash
    pnl_pct = pnl * 100 / account.starting_cash if account.starting_cash else None
    return render(request, "portfolio/dashboard.html", {"account": account, "pnl": pnl, "pnl_pct": pnl_pct})
