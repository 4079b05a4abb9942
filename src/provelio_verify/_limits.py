"""Limits shared by a reader and a writer, kept in one place so they cannot drift."""

from __future__ import annotations

#: Deepest nesting of JSON arrays and objects: what every JSON reader here accepts
#: (bundles, manifest rows, chain answers, capsule files; checked by a linear scan
#: before ``json`` recurses) and what the report writer emits. A bundle needs four
#: levels and a report's own structure about eight, and a bundle's metadata is echoed
#: at the depth it was read, so what the reader accepts the writer can write; 64 stays
#: far below Python's recursion limit (1,000), on which ``json`` and every recursive
#: walk of a report (the HTML renderer, capsule writing) rely.
MAX_JSON_DEPTH = 64
