"""Instruments, bars, quotes, market calendars and data providers."""
