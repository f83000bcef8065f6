"""The OpenAPI 3.1 description, built from the route table and the request schemas."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from shuttle import __version__

if TYPE_CHECKING:
    from shuttle.routing import Route

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
ERRORS = {
    "400": "Malformed request",
    "401": "Not signed in",
    "403": "Signed in but not allowed",
    "404": "Not found, or not yours",
    "409": "State conflict (wrong state, stale version, duplicate)",
    "413": "Too large",
    "422": "Well-formed but invalid",
    "429": "Too many attempts: wait the seconds in the Retry-After header",
}


def _operation(route: Route, schemas: dict[str, Any]) -> dict[str, Any]:
    params = re.findall(r"{(\w+)}", route.path)
    operation: dict[str, Any] = {
        "operationId": route.name,
        "summary": route.summary,
        "description": f"For: {route.who}." + (f"\n\n{route.notes}" if route.notes else ""),
        "parameters": [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in params
        ],
        "responses": {
            str(route.status): {"description": "Success"},
            **{
                code: {
                    "description": text,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
                for code, text in ERRORS.items()
            },
        },
    }
    if route.who != "anyone":
        operation["security"] = [{"bearer": []}]
    if route.body is not None:
        name = route.body.__name__
        schema = route.body.model_json_schema(ref_template="#/components/schemas/{model}")
        for nested_name, nested in schema.pop("$defs", {}).items():
            schemas[nested_name] = nested
        schemas[name] = schema
        operation["requestBody"] = {
            "required": name != "Empty",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    return operation


def document(routes: Iterable[Route]) -> dict[str, Any]:
    """The OpenAPI document for ``routes``."""
    schemas: dict[str, Any] = {"Error": ERROR}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Shuttle API",
            "version": __version__,
            "description": "Indirect communication and shuttle mediation for restorative justice.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
