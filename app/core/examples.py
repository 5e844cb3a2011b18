"""Examples for the response schemas that have none of their own, built from what the schema
says: a property's own example, the value a hand-written example elsewhere gives a field of
that name (the `number` of AgreementCreate's example for AgreementRead's), its enum's first
value, a nested schema's example, or a value of its type and format. A page shows one item.
Hand-written examples on a model (`json_schema_extra={"examples": [...]}`) always win; tests
check that every example validates against its schema."""

import re
from typing import Any

SchemaMap = dict[str, Any]

BY_FORMAT = {
    "uuid": "5b0f4a52-3f1c-4d1e-9a57-1f3c2b8e7d10",
    "date": "2024-11-20",
    "date-time": "2024-11-20T03:15:00Z",
    "binary": "",
}
BY_TYPE: dict[str, Any] = {"string": "", "integer": 0, "number": 0, "boolean": False}


def _ref_name(schema: SchemaMap) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _field_values(node: Any, found: dict[str, Any]) -> None:
    """Every field's value in the hand-written examples under `node`, the first one kept."""
    if isinstance(node, list):
        for item in node:
            _field_values(item, found)
    elif isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str | int | float | bool | dict | list):
                found.setdefault(key, value)
            _field_values(value, found)


def _fits(value: Any, schema: SchemaMap) -> bool:
    if "enum" in schema:
        return value in schema["enum"]
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return any(_fits(value, option) for option in options)
    kind = schema.get("type")
    if kind == "string":
        pattern = schema.get("pattern")
        return isinstance(value, str) and (pattern is None or re.search(pattern, value) is not None)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list) and all(
            _fits(item, schema.get("items", {})) for item in value
        )
    return kind == "object" and "properties" not in schema and isinstance(value, dict)


def family(name: str) -> str:
    """The first word of a schema's name: `Agreement` for AgreementRead and AgreementCreate."""
    match = re.match(r"[A-Z][a-z]*", name.removeprefix("Page_"))
    return match.group(0) if match else name


class ExampleBuilder:
    def __init__(self, components: dict[str, SchemaMap]) -> None:
        self.components = components
        self.building: list[str] = []
        # Field values of the hand-written examples, per family of schemas and in all.
        self.known: dict[str, dict[str, Any]] = {}
        self.anywhere: dict[str, Any] = {}
        for name, schema in components.items():
            _field_values(schema.get("examples", []), self.known.setdefault(family(name), {}))
            _field_values(schema.get("examples", []), self.anywhere)

    def component(self, name: str) -> Any:
        schema = self.components[name]
        if schema.get("examples"):
            return schema["examples"][0]
        if name in self.building:  # a schema that holds itself: stop at null
            return None
        self.building.append(name)
        try:
            return self.value(schema)
        finally:
            self.building.pop()

    def value(self, schema: SchemaMap) -> Any:
        name = _ref_name(schema)
        if name is not None:
            return self.component(name)
        for key in ("examples", "enum"):
            if schema.get(key):
                return schema[key][0]
        if "const" in schema:
            return schema["const"]
        if "default" in schema and schema["default"] is not None:
            return schema["default"]
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                options = [part for part in schema[key] if part.get("type") != "null"]
                nullable = len(options) < len(schema[key])
                return self.value(options[0]) if options and not nullable else None
        return self._by_type(schema)

    def _field(self, field: str, schema: SchemaMap) -> Any:
        """A field's value as its own family's examples give it, else as any example does."""
        if schema.get("examples"):
            return self.value(schema)
        own = self.known.get(family(self.building[-1]), {}) if self.building else {}
        for source in (own, self.anywhere):
            if field in source and _fits(source[field], schema):
                return source[field]
        return self.value(schema)

    def _by_type(self, schema: SchemaMap) -> Any:
        kind = schema.get("type")
        if kind == "object":
            properties = schema.get("properties", {})
            return {field: self._field(field, part) for field, part in properties.items()}
        if kind == "array":
            return [self.value(schema["items"])] if "items" in schema else []
        if kind == "null":
            return None
        if kind == "string" and "format" in schema:
            return BY_FORMAT.get(schema["format"], "")
        if kind in ("integer", "number") and "minimum" in schema:
            return schema["minimum"]
        return BY_TYPE.get(kind) if isinstance(kind, str) else None


def add_response_examples(document: dict[str, Any]) -> None:
    """Give every JSON success response without an example one, built from its schema."""
    builder = ExampleBuilder(document.get("components", {}).get("schemas", {}))
    for methods in document.get("paths", {}).values():
        for operation in methods.values():
            for status, response in operation.get("responses", {}).items():
                if not status.startswith("2"):
                    continue
                for media, content in response.get("content", {}).items():
                    schema = content.get("schema", {})
                    if "json" not in media or "example" in content or "examples" in content:
                        continue
                    name = _ref_name(schema)
                    if name is not None and builder.components[name].get("examples"):
                        continue
                    content["example"] = builder.value(schema)
