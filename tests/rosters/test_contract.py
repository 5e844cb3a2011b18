"""The roster body in the OpenAPI document comes from columns.py: every field the parser reads,
with every header it knows it by, for JSON, NDJSON, CSV and XLSX."""

from typing import Any

from fastapi import FastAPI

from app.rosters.columns import FIELDS, HEADERS
from app.rosters.contract import NOTES


def roster_body(app: FastAPI) -> dict[str, Any]:
    push = app.openapi()["paths"]["/v1/agreements/{agreement_id}/rosters"]["post"]
    return dict(push["requestBody"]["content"])


def test_every_field_the_parser_reads_is_explained() -> None:
    assert set(FIELDS) - set(NOTES) == set()


def test_csv_and_xlsx_list_every_header(app: FastAPI) -> None:
    content = roster_body(app)
    for media in ("text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"):
        described = content[media]["schema"]["description"]
        missing = [h for names in HEADERS.values() for h in names if h not in described]
        assert missing == [], media


def test_the_json_officer_has_every_field(app: FastAPI) -> None:
    document, bare_list = roster_body(app)["application/json"]["schema"]["anyOf"]
    officer = document["properties"]["officers"]["items"]
    assert set(officer["properties"]) == set(FIELDS)
    assert bare_list["items"] == officer
    assert "TGL LAHIR" in officer["properties"]["birth_date"]["description"]
