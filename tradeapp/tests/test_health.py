import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def test_healthz_answers_without_dependencies(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_with_a_worker(client, celery_worker_thread):
    response = client.get("/readyz")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "migrations", "redis", "celery"}
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_is_503_naming_the_missing_worker(client):
    response = client.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["celery"] == {
        "ok": False,
        "ms": checks["celery"]["ms"],
        "error": "no Celery worker answered a ping",
    }
    assert checks["database"]["ok"]
    assert checks["redis"]["ok"]


def test_readyz_is_503_when_redis_is_down(client, celery_worker_thread, monkeypatch):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from tradeapp.core import health

    broken = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    monkeypatch.setattr(health, "redis_client", lambda: broken)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["ok"] is False
