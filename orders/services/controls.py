"""Platform-wide controls an administrator pulls: the kill switch. Engaging it cancels every open
order of every account (reason ``kill_switch``) and the risk check refuses new ones until release;
the bounds users' own limits must respect live in ``orders.services.limits``."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import TradingAccount
from orders.models import OPEN_STATUS_VALUES, Order, TradingControls
from orders.services.lifecycle import cancel_all_orders
from orders.states import Reason
from tradeapp.core import clock


def set_kill_switch(*, engaged: bool, reason: str = "", by: Any = None) -> TradingControls:
    """Engage (or release) the global kill switch. Engaging cancels every open order of every
    account; new orders are refused with ``kill_switch`` until it is released."""
    with transaction.atomic():
        controls = TradingControls.objects.select_for_update().get_or_create(id=1)[0]
        controls.kill_switch = engaged
        controls.kill_switch_reason = reason[:200]
        controls.kill_switch_changed_at = clock.now()
        controls.kill_switch_changed_by = by if getattr(by, "pk", None) else None
        controls.save()
    if engaged:
        account_ids = set(
            Order.objects.filter(status__in=OPEN_STATUS_VALUES).values_list("account_id", flat=True)
        )
        for account_id in sorted(account_ids, key=str):
            cancel_all_orders(account=TradingAccount.objects.get(pk=account_id), reason=Reason.KILL_SWITCH)
    return controls
