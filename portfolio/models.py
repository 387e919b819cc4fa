"""Positions, the cash ledger, equity snapshots and performance metrics."""
