"""What every operation of the OpenAPI document gets without its route saying so.

- `operationId`: the route function's name (`push_roster`, `check_coverage`), which client
  generators turn into method names; two routes with one name are refused at start-up.
- The problem responses the shared machinery can answer, read from what the route depends on:
  401, 429 and 503 for a key (the `bearer` scheme), 403 for a scope (`require`,
  `require_any`), 503 for a session, 404 for a path parameter, 422 for any parameter or
  body, 413 and 415 for a body, 409 and 422 for an `Idempotency-Key`, 412 and 428 for an
  `If-Match`. A route declares only what its own rules add (`problems(409)` for a state
  conflict); every problem response shows an example.
"""

import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from app.core.auth import bearer
from app.core.database import get_session
from app.core.errors import PROBLEM_JSON
from app.core.examples import add_response_examples
from app.core.problem_codes import PROBLEM_CODES
from app.core.routing import Problem, problem_entry, problem_example

AUTHENTICATED = frozenset({401, 429, 503})
WITH_SCOPE = frozenset({403})
WITH_SESSION = frozenset({503})
WITH_PATH_PARAMETER = frozenset({404, 422})
WITH_PARAMETERS = frozenset({422})
WITH_BODY = frozenset({413, 415, 422})
WITH_IDEMPOTENCY_KEY = frozenset({409, 422})
WITH_IF_MATCH = frozenset({412, 428})


def operation_id(route: APIRoute) -> str:
    return route.name


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _headers(dependant: Dependant) -> Iterator[str]:
    for param in dependant.header_params:
        yield (param.alias or param.name).lower().replace("_", "-")
    for dependency in dependant.dependencies:
        yield from _headers(dependency)


def _has_parameters(dependant: Dependant) -> bool:
    if dependant.path_params or dependant.query_params or dependant.header_params:
        return True
    return any(_has_parameters(dependency) for dependency in dependant.dependencies)


def _has_body(route: Any) -> bool:
    return route.body_field is not None or "requestBody" in (route.openapi_extra or {})


def statuses_of(route: Any) -> set[int]:
    """The problem statuses the shared machinery can answer on `route` (an APIRoute as
    included, with its routers' dependencies)."""
    calls = set(_calls(route.dependant))
    names = {getattr(call, "__name__", "") for call in calls}
    headers = set(_headers(route.dependant))
    rules = (
        (bearer in calls, AUTHENTICATED),
        (any(name.startswith("require_") for name in names), WITH_SCOPE),
        (get_session in calls, WITH_SESSION),
        (bool(route.dependant.path_params), WITH_PATH_PARAMETER),
        (_has_parameters(route.dependant), WITH_PARAMETERS),
        (_has_body(route), WITH_BODY),
        ("idempotency-key" in headers, WITH_IDEMPOTENCY_KEY),
        ("if-match" in headers, WITH_IF_MATCH),
    )
    return {status for applies, added in rules if applies for status in added}


def documented_routes(app: FastAPI) -> list[Any]:
    """The APIRoutes of the document, as included (prefixes and router dependencies applied)."""
    return [
        context
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.include_in_schema
    ]


def _not_found(path: str) -> dict[str, Any] | None:
    """The 404 example of a path whose last parameter names a resource with its own code:
    `agreement_not_found` under `{agreement_id}`."""
    parameters = re.findall(r"{(\w+)}", path)
    noun = parameters[-1].removesuffix("_id") if parameters else ""
    code = f"{noun}_not_found"
    if code not in PROBLEM_CODES:
        return None
    return problem_example(404, code, f"No such {noun.replace('_', ' ')}")


def _document_operation(path: str, operation: dict[str, Any], statuses: set[int]) -> None:
    responses = operation.setdefault("responses", {})
    declared = {int(status) for status in responses if status.isdigit() and int(status) >= 400}
    for status in sorted(statuses | declared):
        common = problem_entry(status)
        entry = responses.setdefault(str(status), {})
        entry.setdefault("description", common["description"])
        entry["content"] = common["content"]  # problem+json only, with its example
    if "404" in responses and (example := _not_found(path)):
        responses["404"]["content"][PROBLEM_JSON]["example"] = example


def _add_problem_schemas(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem.pop("$defs", {}))
    components["Problem"] = problem


def _models() -> dict[str, type[BaseModel]]:
    """The app's pydantic models by class name (the component names FastAPI gives them)."""
    found: dict[str, type[BaseModel]] = {}
    pending = list(BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        pending += model.__subclasses__()
        if model.__module__.startswith("app."):
            found[model.__name__] = model
    return found


def _restore_examples(schema: dict[str, Any]) -> None:
    """Put back the nulls of the models' examples: FastAPI renders the document with
    `exclude_none`, which drops them, so that `"ended_on": null` vanished and the example no
    longer matched its own schema (the field is required)."""
    models = _models()
    for name, component in schema.get("components", {}).get("schemas", {}).items():
        model = models.get(name.removesuffix("-Input").removesuffix("-Output"))
        if model is None:
            continue
        own = model.model_json_schema(ref_template="#/components/schemas/{model}")
        if "examples" in own:
            component["examples"] = own["examples"]
        for field, property_schema in own.get("properties", {}).items():
            if "examples" in property_schema and field in component.get("properties", {}):
                component["properties"][field]["examples"] = property_schema["examples"]


def document_routes(app: FastAPI) -> None:
    """Call once every router is included. Refuses two routes of one name (one operationId)."""
    names: dict[str, str] = {}
    for route in documented_routes(app):
        if route.name in names:
            raise RuntimeError(
                f"Two routes are named {route.name}: {names[route.name]}, {route.path}"
            )
        names[route.name] = route.path
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        for route in documented_routes(app):
            statuses = statuses_of(route)
            for method in route.methods:
                path = route.path_format
                _document_operation(path, schema["paths"][path][method.lower()], statuses)
        _add_problem_schemas(schema)
        _restore_examples(schema)
        add_response_examples(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
