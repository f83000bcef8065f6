"""The OpenAPI description served at ``GET /api/openapi.json``: a valid OpenAPI 3.1 document
that covers every route of ``shuttle.routes.ROUTES`` with its method, path parameters, request
body schema, success status, error shape and security.

When ``openapi-spec-validator`` is installed the document is also checked against the official
schema; without it that one test is skipped and the structural checks here still run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from shuttle.api.openapi import document
from shuttle.routes import ROUTES, Route

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
PATH_PARAM = re.compile(r"{([^{}]+)}")


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    """The document as the route table builds it (the served one is checked to be the same)."""
    return document(ROUTES)


def operation(doc: dict[str, Any], route: Route) -> dict[str, Any]:
    """The route's operation in the document."""
    path_item = doc["paths"].get(route.path)
    assert path_item is not None, f"{route.path} is not documented"
    found = path_item.get(route.method.lower())
    assert found is not None, f"{route.method} {route.path} is not documented"
    return found  # type: ignore[no-any-return]


def resolve(doc: dict[str, Any], ref: str) -> Any:
    """Follow a local JSON pointer such as ``#/components/schemas/NewItem``."""
    assert ref.startswith("#/"), f"not a local reference: {ref}"
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` anywhere under ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


async def test_served_document_is_the_route_tables(client: Any, doc: dict[str, Any]) -> None:
    """``GET /api/openapi.json`` answers the document, as JSON, without signing in."""
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    assert await response.json() == doc


def test_openapi_3_1_shape(doc: dict[str, Any]) -> None:
    """The top level of an OpenAPI 3.1 document: openapi, info (title, version), paths."""
    assert isinstance(doc["openapi"], str) and re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert isinstance(doc["info"]["title"], str) and doc["info"]["title"].strip()
    assert isinstance(doc["info"]["version"], str) and doc["info"]["version"].strip()
    assert isinstance(doc["paths"], dict) and doc["paths"]
    for path, item in doc["paths"].items():
        assert path.startswith("/"), path
        assert set(item) <= HTTP_METHODS | {"parameters", "summary", "description"}, path
        for method in set(item) & HTTP_METHODS:
            op = item[method]
            assert isinstance(op["responses"], dict) and op["responses"], (method, path)
            for status, answer in op["responses"].items():
                assert re.fullmatch(r"[1-5](\d\d|XX)|default", status), (method, path, status)
                assert isinstance(answer["description"], str), (method, path, status)


def test_every_route_is_documented_with_its_method(doc: dict[str, Any]) -> None:
    """Each route of ROUTES appears, and nothing else does."""
    documented = {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in set(item) & HTTP_METHODS
    }
    routes = {(route.method, route.path) for route in ROUTES}
    assert routes - documented == set(), "routes missing from the document"
    assert documented - routes == set(), "documented operations that are not routes"


def test_operation_ids_are_unique_route_names(doc: dict[str, Any]) -> None:
    """Each operation is named by its route's name, and no two share one."""
    ids = [operation(doc, route)["operationId"] for route in ROUTES]
    assert ids == [route.name for route in ROUTES]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_path_parameters_are_declared(doc: dict[str, Any], route: Route) -> None:
    """Every ``{name}`` of the path is a required path parameter with a schema, and no other."""
    op = operation(doc, route)
    in_path = PATH_PARAM.findall(route.path)
    declared = [p for p in op.get("parameters", []) if p["in"] == "path"]
    assert sorted(p["name"] for p in declared) == sorted(in_path)
    for parameter in declared:
        assert parameter["required"] is True, parameter
        assert "schema" in parameter, parameter


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_request_bodies_reference_component_schemas(doc: dict[str, Any], route: Route) -> None:
    """A route that takes a body documents it as JSON, by reference to a schema in components,
    with the model's required fields, refusing unknown fields as the server does."""
    op = operation(doc, route)
    if route.body is None:
        assert "requestBody" not in op
        return
    content = op["requestBody"]["content"]
    assert set(content) == {"application/json"}
    ref = content["application/json"]["schema"]["$ref"]
    assert ref == f"#/components/schemas/{route.body.__name__}"
    schema = resolve(doc, ref)
    assert schema.get("type") == "object"
    assert schema.get("additionalProperties") is False, "the server refuses unknown fields"
    required = {name for name, info in route.body.model_fields.items() if info.is_required()}
    assert set(schema.get("required", [])) == required
    assert set(schema.get("properties", {})) == set(route.body.model_fields)
    if required:  # a body may be left out (the server reads none as {}) only with no required field
        assert op["requestBody"]["required"] is True


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_responses_and_security(doc: dict[str, Any], route: Route) -> None:
    """The success status is the route's; errors have the one error shape; signed-in routes
    name the bearer scheme, and the routes for anyone do not."""
    op = operation(doc, route)
    assert str(route.status) in op["responses"]
    for status, answer in op["responses"].items():
        if status.startswith(("4", "5")):
            schema = answer["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (route.name, status)
    schemes = doc["components"]["securitySchemes"]
    if route.who == "anyone":
        assert not op.get("security"), route.name
    else:
        assert op["security"], route.name
        for requirement in op["security"]:
            assert set(requirement) <= set(schemes), requirement
    for requirement in op.get("security", []):
        for name in requirement:
            assert schemes[name] == {"type": "http", "scheme": "bearer"}


def test_error_schema_is_api_md_error_shape(doc: dict[str, Any]) -> None:
    """``{"error": {"code", "message"}}``, both required."""
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    inner = error["properties"]["error"]
    assert set(inner["required"]) == {"code", "message"}
    assert inner["properties"]["code"]["type"] == "string"
    assert inner["properties"]["message"]["type"] == "string"


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    """No dangling ``$ref``: every one points at something in the document."""
    found = list(refs(doc))
    assert found
    for ref in found:
        resolve(doc, ref)


def test_valid_by_openapi_spec_validator(doc: dict[str, Any]) -> None:
    """The official OpenAPI 3.1 schema accepts the document (when the validator is installed)."""
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(doc)
