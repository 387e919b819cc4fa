"""tradeapp: a self-hosted trading platform (Django + Channels + Celery).

The Celery application lives in ``tradeapp.celery`` and is loaded by ``tradeapp.core.apps`` when Django
starts; this package imports nothing, so ``tradeapp.core.decimals`` stays pure.
"""
