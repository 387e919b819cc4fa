"""The event-driven backtest engine and its runs."""
