"""How a symbol is spelled where "/" cannot go (pure, no Django): the one home of the alias rule.

URLs and websocket stream names write "BTC/USD" as "BTC-USD", because a slash is awkward in a URL path
and Channels refuses it in a group name. Everything that reads a symbol from outside therefore accepts
both spellings, case-insensitively, and an exact spelling wins over the alias (a symbol that really
holds a "-" stays findable).
"""

from __future__ import annotations

MAX_SYMBOL_LENGTH = 32  # Instrument.symbol's column width
SYMBOL_SEPARATOR = "/"  # between base and quote currency: "BTC/USD", "EUR/USD"
SYMBOL_ALIAS_SEPARATOR = "-"  # stands for SYMBOL_SEPARATOR in URLs and stream names


def url_symbol(symbol: str) -> str:
    """The spelling of ``symbol`` in page and API URLs and in stream names: "BTC/USD" -> "BTC-USD"."""
    return symbol.replace(SYMBOL_SEPARATOR, SYMBOL_ALIAS_SEPARATOR)


def symbol_spellings(text: str) -> list[str]:
    """What ``text`` may spell, as given first: "BTC-USD" -> ["BTC-USD", "BTC/USD"]; without the
    alias only ``text`` itself. Keeps case and length (search matches substrings)."""
    spellings = [text]
    if SYMBOL_ALIAS_SEPARATOR in text:
        spellings.append(text.replace(SYMBOL_ALIAS_SEPARATOR, SYMBOL_SEPARATOR))
    return spellings


def symbol_candidates(text: object) -> list[str]:
    """The upper-case spellings ``text`` may mean, the exact one first: ``"btc-usd"`` ->
    ``["BTC-USD", "BTC/USD"]``. Empty, over-long or non-string input means nothing."""
    if not isinstance(text, str):
        return []
    cleaned = text.strip().upper()
    if not cleaned or len(cleaned) > MAX_SYMBOL_LENGTH:
        return []
    return symbol_spellings(cleaned)
