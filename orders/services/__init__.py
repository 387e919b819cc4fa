"""Order use cases, each one transaction: place, replace, cancel, cancel all, close position(s), the
paper venue's evaluation of resting orders and position exits on new prices, expiry, the kill
switch, fills and statuses a venue reports, TWAP/VWAP algos.

The package, one module per use case (callers import from here):

- ``placement``: ``OrderRequest``, ``place_order`` (validation, risk check, rows and legs, the venue)
- ``lifecycle``: ``cancel_order``, ``cancel_all_orders``, ``replace_order``, ``wipe_orders``
- ``evaluation``: ``evaluate_symbol``, ``expire_orders``, position exits, ``close_position(s)``
- ``limits``: trading controls, account risk settings and limits, ``check_risk``
- ``controls``: the kill switch
- ``algos``: ``start_algo``, ``run_algos``, ``cancel_algo``
- ``reports``: ``record_fill``, ``record_status``: the inbound path of a venue's reports
- ``unit_of_work`` and ``persistence``: what they share: the transaction's state, storing results

Locking policy (the one order everywhere, so concurrent requests cannot deadlock): the account row
first (``select_for_update``), then order rows, then position rows. Holding the account row is what
makes "check buying power, then reserve it" safe with two web processes and two workers: a second
order for the same account waits until the first one's transaction has committed.

Orders reach a venue through ``orders.venues`` (the paper venue matches with ``orders.matching``
inside the transaction). The fill rules are ``orders.matching`` (pure; the backtester uses it too),
the contingent-group rules ``orders.contingent``, the risk rules ``orders.risk``; every status
change is decided there and only stored here. Positions and cash move in
``portfolio.services.apply_fill``. Websocket messages go out after the commit.
"""

from orders.services.algos import (
    MAX_ALGO_WINDOW,
    MIN_ALGO_INTERVAL_SECONDS,
    cancel_algo,
    run_algos,
    start_algo,
)
from orders.services.controls import set_kill_switch
from orders.services.evaluation import (
    close_all_positions,
    close_position,
    evaluate_symbol,
    expire_orders,
)
from orders.services.lifecycle import (
    Replacement,
    cancel_all_orders,
    cancel_order,
    replace_order,
    wipe_orders,
)
from orders.services.limits import (
    RISK_FIELDS,
    check_risk,
    risk_limits,
    risk_settings_of,
    trading_controls,
    update_risk_settings,
)
from orders.services.persistence import MATCHABLE_STATUSES, REASON_MESSAGES, ZERO, to_working
from orders.services.placement import LegRequest, OrderRequest, Placement, place_order
from orders.services.reports import ReportedFill, ReportedStatus, record_fill, record_status
from orders.venues.paper import execution_config

__all__ = [
    "MATCHABLE_STATUSES",
    "MAX_ALGO_WINDOW",
    "MIN_ALGO_INTERVAL_SECONDS",
    "REASON_MESSAGES",
    "RISK_FIELDS",
    "ZERO",
    "LegRequest",
    "OrderRequest",
    "Placement",
    "Replacement",
    "ReportedFill",
    "ReportedStatus",
    "cancel_algo",
    "cancel_all_orders",
    "cancel_order",
    "check_risk",
    "close_all_positions",
    "close_position",
    "evaluate_symbol",
    "execution_config",
    "expire_orders",
    "place_order",
    "record_fill",
    "record_status",
    "replace_order",
    "risk_limits",
    "risk_settings_of",
    "run_algos",
    "set_kill_switch",
    "start_algo",
    "to_working",
    "trading_controls",
    "update_risk_settings",
    "wipe_orders",
]
