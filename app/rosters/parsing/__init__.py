"""Streaming parser that turns an uploaded roster file (JSON, NDJSON, CSV, XLSX) into text rows.

Its rooms: formats (which of the four a body is), cells (dates, sex, numbers as written),
jabatan (role and position from a JABATAN), headers (which column feeds which field, the
names coming from columns.py), one module per format's rows, and the reader that opens them.
"""

from app.rosters.parsing.formats import RosterFormat, detect_format
from app.rosters.parsing.jabatan import RoleVocabulary
from app.rosters.parsing.reader import RosterReader
from app.rosters.parsing.rows import RawRow, RosterFileError

__all__ = [
    "RawRow",
    "RoleVocabulary",
    "RosterFileError",
    "RosterFormat",
    "RosterReader",
    "detect_format",
]
