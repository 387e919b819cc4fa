"""Websocket messages about strategies: a deployment's state (``strategy_deployment``) and each new
signal (``strategy_signal``) go to the owner's ``user.<id>`` group after the commit, with the stream's
sequence number. A lost message is caught up by the client's REST re-sync."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from strategies.models import Signal, StrategyDeployment
from strategies.representations import deployment_payload, signal_payload
from tradeapp.core.realtime import publish_many, user_group


def announce_after_commit(deployment: StrategyDeployment, signals: Sequence[Signal] = ()) -> None:
    """Publish the deployment as this transaction leaves it, and its new signals, once it commits."""
    stream = user_group(deployment.owner_id)
    events = [(stream, "strategy_deployment", deployment_payload(deployment))]
    events += [(stream, "strategy_signal", signal_payload(signal)) for signal in signals]
    transaction.on_commit(lambda: publish_many(events))
