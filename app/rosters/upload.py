"""Receiving a roster body: streamed to a spooled temporary file and hashed on the way.

The body is never held whole in memory: past SPOOL_MEMORY_BYTES it lives on disk. The size
limit is enforced as it streams by the ASGI middleware (app.core.observability), which
answers 413 as soon as the count passes MAX_UPLOAD_BYTES.
"""

import hashlib
import tempfile
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import BinaryIO, cast

SPOOL_MEMORY_BYTES = 4 * 1024 * 1024
HEAD_BYTES = 8192


@dataclass(slots=True)
class Upload:
    file: BinaryIO
    sha256: str
    size: int
    newlines: int
    head: bytes

    def close(self) -> None:
        self.file.close()


async def receive_upload(body: AsyncIterable[bytes]) -> Upload:
    """The body spooled, as it streams in (a request's `stream()`)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES, mode="w+b")  # noqa: SIM115
    digest = hashlib.sha256()
    size = newlines = 0
    head = bytearray()
    try:
        async for chunk in body:
            if not chunk:
                continue
            digest.update(chunk)
            spool.write(chunk)
            size += len(chunk)
            newlines += chunk.count(b"\n")
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return Upload(cast(BinaryIO, spool), digest.hexdigest(), size, newlines, bytes(head))
