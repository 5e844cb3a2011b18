"""The docs partners code against: every operation explained, every request body exemplified."""

from importlib.metadata import version
from typing import Any

import pytest
from fastapi import FastAPI

Operation = tuple[str, str, dict[str, Any]]


def operations(app: FastAPI) -> list[Operation]:
    spec = app.openapi()
    return [
        (method.upper(), path, operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]


def has_example(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    if "example" in schema or "examples" in schema:
        return True
    if "$ref" in schema:
        return has_example(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    return any(has_example(part, components) for part in schema.get("anyOf", []))


def test_every_operation_has_a_summary_and_a_description(app: FastAPI) -> None:
    undocumented = [
        f"{method} {path}"
        for method, path, operation in operations(app)
        if path.startswith("/v1/")
        and not (operation.get("summary") and operation.get("description"))
    ]
    assert undocumented == []


def test_every_tag_an_operation_uses_is_described(app: FastAPI) -> None:
    spec = app.openapi()
    described = {tag["name"] for tag in spec.get("tags", []) if tag.get("description")}
    used = {tag for _, _, operation in operations(app) for tag in operation.get("tags", [])}
    assert used - described == set()


def test_the_glossary_explains_the_terms_partners_meet(app: FastAPI) -> None:
    description = app.openapi()["info"]["description"]
    explained = {
        line.split("|")[1].strip() for line in description.splitlines() if line[:2] == "| "
    }
    terms = {"KPPS", "PPS", "PPK", "PTPS", "PKD", "Panwascam", "KPJ", "NIK", "TMT", "PAW"}
    terms |= {"JKK", "JKM", "PKS", "KPU", "Bawaslu", "Pemilu", "Pilkada", "TPS"}
    assert terms - explained == set()


def test_the_document_gives_the_package_version_and_a_server(app: FastAPI) -> None:
    spec = app.openapi()
    assert spec["info"]["version"] == version("perisai")
    assert spec["servers"][0]["url"] == "/"


def test_every_request_body_has_an_example(app: FastAPI) -> None:
    components = app.openapi()["components"]["schemas"]
    without_example = [
        f"{method} {path} ({media})"
        for method, path, operation in operations(app)
        for media, content in operation.get("requestBody", {}).get("content", {}).items()
        if content.get("schema", {}).get("format") != "binary"  # a file upload (XLSX)
        and not ("example" in content or "examples" in content)
        and not has_example(content.get("schema", {}), components)
    ]
    assert without_example == []


@pytest.mark.parametrize("status", ["401", "403", "404", "409", "422"])
def test_declared_errors_are_problem_documents(app: FastAPI, status: str) -> None:
    declared = [
        operation["responses"][status]
        for _, _, operation in operations(app)
        if status in operation["responses"]
    ]
    assert declared, f"no operation declares {status}"
    for response in declared:
        assert "application/problem+json" in response.get("content", {}), response
