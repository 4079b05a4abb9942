"""The RFC 3161 half of the core (the ``timestamp.*`` checks): pure, bytes in, values
out; a change here changes verdicts. Never imports ``core.anchor``.

- reading the token: ``der`` (a bounded DER walker), ``fields``, ``token``, ``tstinfo``
- ``timestamp.gen-time`` / ``timestamp.imprint``: ``imprint``
- ``timestamp.signature``: ``cms``, ``algorithms``
- ``timestamp.signing-certificate``: ``ess``
- ``timestamp.tsa-certificate``: ``certs``, ``pki``
- ``timestamp.chain``: ``certpath`` (the path's outcome at genTime), ``x509path``
- ``timestamp.revocation``: ``revocation``
"""
