"""JSON responses built with orjson, for handlers that must hold a Response in hand."""

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi.responses import Response
from pydantic import BaseModel


def json_response(
    content: BaseModel | Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    data = content.model_dump(mode="json") if isinstance(content, BaseModel) else content
    return Response(
        orjson.dumps(data, default=str),
        status_code=status_code,
        media_type="application/json",
        headers=dict(headers) if headers else None,
    )
