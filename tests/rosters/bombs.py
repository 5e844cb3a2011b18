"""Hostile spreadsheets, built small: the bombs of issue 15 for the tests and bench_bombs.py.

A workbook is an openpyxl one whose sheet XML is replaced. The 2 GiB sheet is written as raw
deflate: one MiB of sheet compressed once with a full flush (which makes its blocks stand
alone) and repeated, so that building it costs a CRC pass, not 2 GiB of compression.
"""

import io
import struct
import zipfile
import zlib
from collections.abc import Iterable

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"
SHEET_OPEN = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_CLOSE = b"</sheetData></worksheet>"
HEADER_ROW = (
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>NIK</t></is></c>'
    b'<c r="B1" t="inlineStr"><is><t>NAMA</t></is></c></row>'
)
MIB = 1 << 20


def officer_row(row: int, column: str = "A") -> bytes:
    return (
        f'<row r="{row}"><c r="{column}{row}" t="inlineStr"><is><t>1209186702038780</t></is></c>'
        f'<c r="B{row}" t="inlineStr"><is><t>Ani Setiawan</t></is></c></row>'
    ).encode()


def _parts() -> dict[str, bytes]:
    workbook = Workbook()
    workbook.active.append(["NIK", "NAMA"])
    out = io.BytesIO()
    workbook.save(out)
    with zipfile.ZipFile(out) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def workbook_with_sheet(sheet_xml: bytes) -> bytes:
    """A valid workbook whose first sheet is `sheet_xml`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in _parts().items():
            archive.writestr(name, sheet_xml if name == SHEET else content)
    return out.getvalue()


def far_row() -> bytes:
    """About 5 KB: a header, and one officer at row 100,000,000."""
    return workbook_with_sheet(SHEET_OPEN + HEADER_ROW + officer_row(100_000_000) + SHEET_CLOSE)


def far_column() -> bytes:
    """One cell in column XFE, past Excel's last (XFD)."""
    return workbook_with_sheet(SHEET_OPEN + HEADER_ROW + officer_row(2, "XFE") + SHEET_CLOSE)


def corner_cell() -> bytes:
    """A cell at XFD1048576: within Excel's limits, but a grid of 17 billion cells."""
    return workbook_with_sheet(
        SHEET_OPEN + HEADER_ROW + officer_row(1_048_576, "XFD") + SHEET_CLOSE
    )


def header_far_down(blank_rows: int) -> bytes:
    """The header after `blank_rows` empty rows."""
    header = HEADER_ROW.replace(b'"1"', f'"{blank_rows + 1}"'.encode())
    header = header.replace(b'"A1"', f'"A{blank_rows + 1}"'.encode())
    header = header.replace(b'"B1"', f'"B{blank_rows + 1}"'.encode())
    return workbook_with_sheet(SHEET_OPEN + header + officer_row(blank_rows + 2) + SHEET_CLOSE)


def zip_not_xlsx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("roster.csv", "NIK;NAMA\r\n1209186702038780;Ani\r\n")
    return out.getvalue()


def expanding_sheet(mebibytes: int = 2048, *, declared: int | None = None) -> bytes:
    """A workbook whose sheet inflates to `mebibytes` MiB (about 1 KB of it per MiB) of rows
    far apart; `declared` is the size its zip directory claims (the true one by default)."""
    row = b'<row><c t="inlineStr"><is><t>Petugas</t></is></c></row>'
    filler = row + b" " * (MIB - len(row))
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(SHEET_OPEN + HEADER_ROW) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = zlib.compressobj(9, zlib.DEFLATED, -15)
    repeated = block.compress(filler) + block.flush(zlib.Z_FULL_FLUSH)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    end = tail.compress(SHEET_CLOSE) + tail.flush()
    crc = zlib.crc32(SHEET_OPEN + HEADER_ROW)
    for _ in range(mebibytes):
        crc = zlib.crc32(filler, crc)
    crc = zlib.crc32(SHEET_CLOSE, crc)
    size = len(SHEET_OPEN + HEADER_ROW) + mebibytes * MIB + len(SHEET_CLOSE)
    members: list[tuple[str, list[bytes], int, int]] = []
    for name, content in _parts().items():
        if name == SHEET:
            chunks = [head, *([repeated] * mebibytes), end]
            members.append((name, chunks, crc, size if declared is None else declared))
        else:
            deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
            raw = deflater.compress(content) + deflater.flush()
            members.append((name, [raw], zlib.crc32(content), len(content)))
    return _zip(members)


def _zip(members: Iterable[tuple[str, list[bytes], int, int]]) -> bytes:
    """A zip of deflated members, written by hand (zipfile would compress them itself)."""
    out = io.BytesIO()
    directory = io.BytesIO()
    count = 0
    for name, chunks, crc, size in members:
        encoded = name.encode()
        compressed = sum(len(c) for c in chunks)
        offset = out.tell()
        fields = (20, 0, 8, 0, 0, crc, compressed, size, len(encoded))
        out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", *fields, 0) + encoded)
        for chunk in chunks:
            out.write(chunk)
        directory.write(
            struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, 0, offset)
            + encoded
        )
        count += 1
    start = out.tell()
    out.write(directory.getvalue())
    out.write(
        struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, directory.tell(), start, 0)
    )
    return out.getvalue()
