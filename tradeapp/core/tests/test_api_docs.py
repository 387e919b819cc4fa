"""docs/api.md names every endpoint of the OpenAPI schema, and no endpoint the API does not have.

Paths are compared without the ``/api/v1`` base and with every path parameter written ``{}``, so the
page may call a parameter ``{a}`` or ``{id}`` where the code says ``{account_id}``; a literal segment
in the page (``/accounts/default/orders``) matches a parameter of the schema. An endpoint counts as
documented when the page has its method and path in one code span: `GET /watchlists` or
`GET/PATCH/DELETE /watchlists/{id}` (a query string after ``?`` is ignored).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator

API_DOCS = Path(__file__).resolve().parents[3] / "docs" / "api.md"
BASE_PATH = "/api/v1"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DOCUMENTED = re.compile(r"`((?:GET|POST|PUT|PATCH|DELETE)(?:/(?:GET|POST|PUT|PATCH|DELETE))*) (/[^`?\s]*)")
PARAMETER = re.compile(r"\{[^}/]*\}")

Endpoint = tuple[str, str]


def normalised(path: str) -> str:
    """The path without the API base, parameters as ``{}``, no trailing slash."""
    path = path.removeprefix(BASE_PATH)
    return PARAMETER.sub("{}", path).rstrip("/") or "/"


def schema_endpoints() -> set[Endpoint]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), normalised(path))
        for path, operations in schema["paths"].items()
        for method in operations
        if method.upper() in METHODS
    }


def documented_endpoints(text: str) -> set[Endpoint]:
    return {
        (method, normalised(path))
        for methods, path in DOCUMENTED.findall(text)
        for method in methods.split("/")
    }


def matches(documented: str, schema_path: str) -> bool:
    """A documented path names a schema path when every segment is equal or the schema's is a parameter."""
    ours, theirs = documented.split("/"), schema_path.split("/")
    return len(ours) == len(theirs) and all(b in (a, "{}") for a, b in zip(ours, theirs, strict=True))


@pytest.fixture(scope="module")
def endpoints() -> tuple[set[Endpoint], set[Endpoint]]:
    return schema_endpoints(), documented_endpoints(API_DOCS.read_text())


def test_every_endpoint_of_the_schema_is_in_the_api_docs(endpoints):
    in_schema, in_docs = endpoints

    missing = sorted(in_schema - in_docs, key=lambda endpoint: (endpoint[1], endpoint[0]))

    assert len(in_schema) > 30  # the schema really was generated
    assert not missing, "docs/api.md lacks: " + ", ".join(f"{m} {p}" for m, p in missing)


def test_the_api_docs_name_no_endpoint_the_api_lacks(endpoints):
    in_schema, in_docs = endpoints

    unknown = sorted(
        (method, path)
        for method, path in in_docs
        if not any(method == m and matches(path, p) for m, p in in_schema)
    )

    assert not unknown, "docs/api.md names endpoints the API lacks: " + ", ".join(
        f"{m} {p}" for m, p in unknown
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/accounts/{account_id}/orders/{order_id}", "/accounts/{}/orders/{}"),
        ("/accounts/{a}/orders/{id}", "/accounts/{}/orders/{}"),
        ("/api/v1/backtests/", "/backtests"),
    ],
)
def test_paths_are_compared_without_base_and_parameter_names(path, expected):
    assert normalised(path) == expected


def test_a_code_span_with_several_methods_documents_each():
    text = "| `GET/PATCH/DELETE /watchlists/{id}` | ... | `GET /bars?symbol=&limit=` |"

    assert documented_endpoints(text) == {
        ("GET", "/watchlists/{}"),
        ("PATCH", "/watchlists/{}"),
        ("DELETE", "/watchlists/{}"),
        ("GET", "/bars"),
    }
