"""Reading what the user names, and the data shipped in the package. Imports only
``core`` and ``errors``; never the network.

- ``files.py``: regular files only (FIFOs, devices and sockets refused before they are
  opened), read within a size bound.
- ``subject.py``: the file (or ``--digest``) being verified, hashed once.
- ``trust.py``: roots, CRLs and OCSP responses the user chose (PEM or DER), and the
  system's roots.
- ``checkpoints.py``: the mainnet checkpoints shipped in ``data/``.
"""

from .files import not_regular, open_regular, read_at_most, read_bounded, regular_file_problem

__all__ = ["not_regular", "open_regular", "read_at_most", "read_bounded",
           "regular_file_problem"]
