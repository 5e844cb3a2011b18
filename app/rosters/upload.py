"""Receiving a roster body: streamed to a spooled temporary file and hashed on the way.

The body is never held whole in memory: past SPOOL_MEMORY_BYTES it lives on disk. A
multipart/form-data body (curl -F, a browser form, Postman) is parsed as it streams, and only
its one file part is spooled. The size limit is enforced as the body streams, multipart or
not, by the ASGI middleware (app.core.observability), which answers 413 as soon as the count
passes MAX_UPLOAD_BYTES.
"""

import hashlib
import tempfile
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.core.errors import Unprocessable
from app.rosters.options import MULTIPART, media_type, unsupported

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

SPOOL_MEMORY_BYTES = 4 * 1024 * 1024
HEAD_BYTES = 8192
# What a part's headers and a form field may hold: a file name, a media type, a short value.
PART_HEADER_BYTES = 4096


@dataclass(slots=True)
class Upload:
    file: BinaryIO
    sha256: str
    size: int
    newlines: int
    head: bytes
    content_type: str | None = None  # the file part's own, for a multipart body

    def close(self) -> None:
        self.file.close()

    def fields(self) -> dict[str, Any]:
        """All but the file, to make the same Upload of it elsewhere."""
        return {
            "sha256": self.sha256,
            "size": self.size,
            "newlines": self.newlines,
            "head": self.head,
            "content_type": self.content_type,
        }


class _Spool:
    """The roster's bytes as they arrive: spooled, hashed, counted, their start kept."""

    def __init__(self) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES, mode="w+b")  # noqa: SIM115
        self.digest = hashlib.sha256()
        self.size = self.newlines = 0
        self.head = bytearray()

    def write(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        self.file.write(chunk)
        self.size += len(chunk)
        self.newlines += chunk.count(b"\n")
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]

    def finish(self, content_type: str | None) -> Upload:
        self.file.seek(0)
        file = cast(BinaryIO, self.file)
        return Upload(
            file, self.digest.hexdigest(), self.size, self.newlines, bytes(self.head), content_type
        )


async def receive_upload(body: AsyncIterable[bytes], content_type: str | None = None) -> Upload:
    """The body spooled, as it streams in (a request's `stream()`); of a multipart body, its
    file part."""
    spool = _Spool()
    try:
        if media_type(content_type) == MULTIPART:
            return await _receive_multipart(body, content_type or "", spool)
        async for chunk in body:
            if chunk:
                spool.write(chunk)
        return spool.finish(None)
    except BaseException:
        spool.file.close()
        raise


async def _receive_multipart(
    body: AsyncIterable[bytes], content_type: str, spool: _Spool
) -> Upload:
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise unsupported(f"{MULTIPART} needs its boundary parameter in the Content-Type")
    form = _FilePart(spool)
    try:
        parser = MultipartParser(boundary, form.callbacks())
        async for chunk in body:
            if chunk:
                parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise _malformed(f"The {MULTIPART} body cannot be read ({exc})") from exc
    if not form.ended:
        raise _malformed(f"The {MULTIPART} body ends before its closing boundary")
    if not form.found:
        raise _malformed(f"The {MULTIPART} body holds no file part: send the roster as a file")
    return spool.finish(form.file_type)


def _malformed(detail: str) -> Unprocessable:
    return Unprocessable(detail, code="roster_malformed")


class _FilePart:
    """Callbacks for python-multipart's streaming parser: the one part with a file name goes
    to the spool; another file, or a form field (options belong in the query), is refused."""

    def __init__(self, spool: _Spool) -> None:
        self.spool = spool
        self.found = self.in_file = self.ended = False
        self.file_type: str | None = None
        self._headers: dict[bytes, bytes] = {}
        self._field = bytearray()
        self._value = bytearray()

    def callbacks(self) -> "MultipartCallbacks":
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_end": self._end,
        }

    def _begin(self) -> None:
        self._headers = {}
        self.in_file = False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]
        self._check_header_size()

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]
        self._check_header_size()

    def _check_header_size(self) -> None:
        if len(self._field) + len(self._value) > PART_HEADER_BYTES:
            raise _malformed(f"A part's header is longer than {PART_HEADER_BYTES} bytes")

    def _header_end(self) -> None:
        self._headers[bytes(self._field).lower()] = bytes(self._value)
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        _, disposition = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("latin-1")
        if b"filename" not in disposition:
            raise Unprocessable(
                f"The form field {name!r} is not read: send mode, atomic, sheet and as_of in "
                "the query string, and the roster as the form's one file",
                code="invalid_roster_options",
            )
        if self.found:
            raise _malformed(f"The {MULTIPART} body holds more than one file: send one roster")
        self.found = self.in_file = True
        part_type = self._headers.get(b"content-type")
        self.file_type = part_type.decode("latin-1") if part_type else None

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file and end > start:
            self.spool.write(data[start:end])

    def _end(self) -> None:
        self.ended = True
