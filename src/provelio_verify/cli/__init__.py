"""The command line: the Face of the package. Nothing but ``__main__`` imports it, and it
holds no logic the library lacks.

- ``command.py``: ``provelio-verify``'s options and its single, ``--evidence`` and
  ``--save-evidence`` modes (the entry point ``provelio_verify.cli:main``)
- ``batch.py``: ``--batch``: progress, the summary table, ``--jsonl``
- ``text.py``: a report in words for a terminal (``render_text``)
"""

from .command import main

__all__ = ["main"]
