"""Benchmarks of the market-data paths (``make bench``, i.e. ``python -m bench``): backfill speed,
range reads (selector, REST API, index choice) and feed-to-browser latency over real websockets.

They run against a throw-away database (``tradeapp_bench``) on the configured PostgreSQL server and
Redis logical database 15, never touching the development data. Results: docs/benchmarks.md.
"""
