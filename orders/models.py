"""Orders, their state machine, matching, risk checks and venues."""
