"""A separate process that submits market buys for the concurrency test:
``python -m orders.tests.buyer <account_id> <count> <symbol>`` prints the outcomes as JSON
({"filled": n, "insufficient_buying_power": n}). DATABASE_URL / REDIS_URL in the environment point
it at the test's database and Redis."""

from __future__ import annotations

import json
import sys
from collections import Counter
from decimal import Decimal


def main() -> None:
    import django

    django.setup()
    from accounts.models import TradingAccount
    from orders import services
    from orders.states import OrderType, Side, TimeInForce
    from tradeapp.core.errors import DomainError

    account_id, count, symbol = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    outcomes: Counter[str] = Counter()
    for _ in range(count):
        request = services.OrderRequest(
            symbol=symbol,
            side=Side.BUY,
            order_type=OrderType.MARKET,
            quantity=Decimal(1),
            time_in_force=TimeInForce.GTC,
        )
        try:
            placement = services.place_order(
                account=TradingAccount.objects.get(pk=account_id), request=request
            )
            outcomes[placement.order.status] += 1
        except DomainError as error:
            outcomes[error.code] += 1
    print(json.dumps(outcomes))


if __name__ == "__main__":
    main()
