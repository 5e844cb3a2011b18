"""The OpenAPI document as a client generator reads it: every example valid against its own
schema, one title per schema, an operationId and examples for every operation, every problem
response problem+json with the codes the service uses."""

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from app.core.problem_codes import PROBLEM_CODES

SPEC_URI = "urn:perisai:openapi"
# (where the example is, the example, where its schema is), as JSON pointers into the document.
Example = tuple[str, Any, str]


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _schema_examples(node: Any, pointer: str) -> Iterator[Example]:
    """Examples of schemas (a list under `examples`, or `example`) and of media types and
    parameters (a map of Example Objects under `examples`, or `example`), anywhere."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _schema_examples(item, f"{pointer}/{index}")
        return
    if not isinstance(node, dict):
        return
    is_schema = "schema" not in node  # a media type or a parameter holds its schema
    target = pointer if is_schema else f"{pointer}/schema"
    if "example" in node:
        yield f"{pointer}/example", node["example"], target
    examples = node.get("examples")
    if isinstance(examples, list) and is_schema:
        for index, value in enumerate(examples):
            yield f"{pointer}/examples/{index}", value, target
    elif isinstance(examples, dict) and not is_schema:
        for name, value in examples.items():
            if "value" in value:
                yield f"{pointer}/examples/{_escape(name)}", value["value"], target
    for key, value in node.items():
        if key not in ("example", "examples"):
            yield from _schema_examples(value, f"{pointer}/{_escape(key)}")


def invalid_examples(spec: dict[str, Any]) -> list[str]:
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    failures = []
    for where, example, schema_at in _schema_examples(spec, ""):
        validator = jsonschema.Draft202012Validator(
            {"$ref": f"{SPEC_URI}#{schema_at}"},
            registry=registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )
        failures += [f"{where}: {error.message}" for error in validator.iter_errors(example)]
    return failures


@pytest.fixture(scope="module")
def spec(database_url: str) -> dict[str, Any]:
    from app.main import create_app
    from tests.conftest import app_settings

    document: dict[str, Any] = create_app(app_settings(database_url)).openapi()
    return document


def test_the_document_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)


def test_every_example_validates_against_its_own_schema(spec: dict[str, Any]) -> None:
    assert len(list(_schema_examples(spec, ""))) > 100
    assert invalid_examples(spec) == []


def test_an_invalid_example_is_found() -> None:
    spec = {
        "components": {
            "schemas": {
                "Cohort": {
                    "type": "object",
                    "properties": {"planned_headcount": {"type": "integer"}},
                    "required": ["planned_headcount"],
                    "examples": [{"planned_headcount": "12"}, {}],
                }
            }
        }
    }
    assert len(invalid_examples(spec)) == 2


def test_no_two_schemas_share_a_title(spec: dict[str, Any]) -> None:
    titles = Counter(schema.get("title") for schema in spec["components"]["schemas"].values())
    assert [title for title, count in titles.items() if count > 1] == []


def test_every_operation_has_a_named_operation_id(spec: dict[str, Any]) -> None:
    ids = {name: str(operation.get("operationId", "")) for name, operation in operations(spec)}
    assert ids["POST /v1/agreements/{agreement_id}/rosters"] == "push_roster"
    assert ids["POST /v1/coverage/checks"] == "check_coverage"
    assert all(ids.values())
    assert len(set(ids.values())) == len(ids)
    assert all(name.isidentifier() and "_v1_" not in name for name in ids.values())


def test_every_success_response_has_an_example(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]

    def exemplified(content: dict[str, Any]) -> bool:
        if "example" in content or "examples" in content:
            return True
        schema = content.get("schema", {})
        if schema.get("type") == "string":  # CSV, XLSX and metrics text
            return True
        ref = schema.get("$ref", "").rsplit("/", 1)[-1]
        return bool(ref) and "examples" in schemas[ref]

    missing = [
        f"{name} {status} {media}"
        for name, operation in operations(spec)
        for status, response in operation["responses"].items()
        if status.startswith("2")
        for media, content in response.get("content", {}).items()
        if not exemplified(content)
    ]
    assert missing == []


def test_every_problem_response_is_problem_json_with_a_known_code(spec: dict[str, Any]) -> None:
    wrong = []
    for name, operation in operations(spec):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            content = response.get("content", {})
            example = content.get("application/problem+json", {}).get("example", {})
            if list(content) != ["application/problem+json"] or example.get("code") not in (
                PROBLEM_CODES
            ):
                wrong.append(f"{name} {status}")
    assert wrong == []
    assert spec["components"]["schemas"]["Problem"]["properties"]["code"]["enum"] == list(
        PROBLEM_CODES
    )


@pytest.mark.parametrize(
    ("operation", "statuses"),
    [
        ("GET /v1/roles", {"401", "429", "503"}),
        ("GET /v1/agreements/{agreement_id}", {"401", "403", "404", "422", "429", "503"}),
        ("POST /v1/agreements", {"401", "403", "409", "413", "415", "422", "429", "503"}),
        ("PATCH /v1/agreements/{agreement_id}", {"404", "409", "412", "413", "415", "428"}),
        ("GET /v1/coverage/{nik}", {"401", "403", "422", "429", "503"}),
    ],
)
def test_common_problem_statuses_come_from_what_a_route_depends_on(
    spec: dict[str, Any], operation: str, statuses: set[str]
) -> None:
    declared = dict(operations(spec))[operation]["responses"]
    assert statuses <= set(declared)


def test_liveness_declares_no_problem(spec: dict[str, Any]) -> None:
    assert set(dict(operations(spec))["GET /healthz"]["responses"]) == {"200"}


@pytest.mark.parametrize(
    "path",
    [
        "/v1/agreements/{agreement_id}",
        "/v1/registrations/{registration_id}",
        "/v1/claims/{claim_id}",
    ],
)
async def test_a_404_example_shows_the_code_the_service_answers(
    spec: dict[str, Any], client: httpx.AsyncClient, admin: dict[str, str], path: str
) -> None:
    documented = spec["paths"][path]["get"]["responses"]["404"]["content"]
    missing_id = "999999999" if "registration" in path else "5b0f4a52-3f1c-4d1e-9a57-1f3c2b8e7d10"

    answered = await client.get(re.sub(r"{\w+}", missing_id, path), headers=admin)

    assert answered.status_code == 404
    assert answered.json()["code"] == documented["application/problem+json"]["example"]["code"]
