"""The Bitcoin half of the core (the ``anchor.*`` checks): pure, bytes in, values out;
a change here changes verdicts. Never imports ``core.timestamp``.

- ``anchor.merkle-path``: ``merkle``
- ``anchor.transaction``, ``anchor.op-return``, ``anchor.inclusion``: ``transaction``
- ``anchor.proof-of-work``: ``bitcoin`` (consensus rules on headers, ``Network``),
  ``pow``, ``checkpoints``
- a headers file or a capsule's header run: ``headers``; ``gettxoutproof``:
  ``merkleblock``
"""
