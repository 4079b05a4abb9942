"""The tag-length-value layout of an encoding (X.690 §8.1).

asn1crypto parses lazily, so a corrupted part that nothing reads would go unnoticed,
where OpenSSL decodes a whole token up front and refuses it. The token reader
therefore walks the token's containers with :class:`Node` (each level read once, on
first use, checking every tag and length) to find each part's original bytes, checks
the parts it does not enter with :meth:`Node.check`, and leaves to asn1crypto (and
cryptography, for certificates) the parsing of values with structure of their own.
Primitive values are not entered: an OCTET STRING holding DER is checked where it is
parsed.
"""

from __future__ import annotations

#: Deeper nesting than any token needs; bounds the recursion a hostile input can cause.
MAX_DEPTH = 40
#: Lengths are at most 4 bytes: a token over 4 GiB is refused long before (1 MiB limit).
MAX_LENGTH_BYTES = 4

UNIVERSAL, CONTEXT = 0, 2
BOOLEAN, INTEGER, OCTET_STRING, OID, SEQUENCE, SET, GENERALIZED_TIME = 1, 2, 4, 6, 16, 17, 24


class Node:
    """One TLV: where it lies in ``data``; its children are read on first use."""

    __slots__ = ("data", "cls", "constructed", "tag", "start", "body", "body_end", "end",
                 "depth", "_children")

    def __init__(self, data: bytes, pos: int, limit: int, depth: int = 0) -> None:
        """Read the header of the element at ``pos`` (it must end by ``limit``), at
        nesting ``depth`` (0 for the outermost).

        Raises:
            ValueError: a malformed tag or length, or nesting deeper than MAX_DEPTH.
        """
        if depth > MAX_DEPTH:
            raise ValueError(f"nesting deeper than {MAX_DEPTH} at offset {pos}")
        self.data = data
        self.start = pos
        self.depth = depth
        self._children: list[Node] | None = None
        first = data[pos] if pos < limit else 0x1F  # (0x1F: "use the general path")
        length = data[pos + 1] if pos + 1 < limit else 0x80
        if first & 0x1F != 0x1F:  # a low tag number: the common case, inline
            if length < 0x80:
                body = pos + 2
            elif length == 0x81 and pos + 2 < limit:
                length, body = data[pos + 2], pos + 3
            elif length == 0x82 and pos + 3 < limit:
                length, body = (data[pos + 2] << 8) | data[pos + 3], pos + 4
            else:
                body = -1
            if body >= 0:
                self.cls, self.constructed, self.tag = first >> 6, bool(first & 0x20), first & 0x1F
                self.body = body
                self.body_end = self.end = body + length
                if self.end > limit:
                    raise ValueError(f"element at offset {pos} runs past its container")
                return
        self.cls, self.constructed, self.tag, self.body, self.body_end, self.end = _header(
            data, pos, limit, depth)

    @property
    def raw(self) -> bytes:
        """The element's bytes as received (tag, length and contents)."""
        return self.data[self.start:self.end]

    @property
    def contents(self) -> bytes:
        return self.data[self.body:self.body_end]

    @property
    def children(self) -> list[Node]:
        """The elements inside a constructed one (read, and checked, once).

        Raises:
            ValueError: the element is primitive, or its contents are malformed.
        """
        if self._children is None:
            if not self.constructed:
                raise ValueError(f"element at offset {self.start} is not constructed")
            found = []
            pos = self.body
            while pos < self.body_end:
                child = Node(self.data, pos, self.body_end, self.depth + 1)
                found.append(child)
                pos = child.end
            self._children = found
        return self._children

    def is_(self, cls: int, tag: int) -> bool:
        return self.cls == cls and self.tag == tag

    def check(self) -> None:
        """Check everything inside this element too (for parts not walked otherwise).

        Raises:
            ValueError: naming the offset of the first fault.
        """
        _walk(self.data, self.start, self.end, self.depth)


def read_tlv(data: bytes) -> Node:
    """The outermost element of ``data``, which must be exactly one TLV.

    Raises:
        ValueError: a malformed header, or bytes after the element.
    """
    node = Node(data, 0, len(data))
    if node.end != len(data):
        raise ValueError(f"{len(data) - node.end} bytes after the end of the encoding")
    return node


def nesting(node: Node) -> int:
    """How many levels the elements inside ``node`` (already checked) go below it: 0
    for a primitive or empty element. An element walked at depth ``d`` stays within
    MAX_DEPTH exactly when ``d + nesting`` does."""
    if not node.constructed or not node.children:
        return 0
    return 1 + max(nesting(child) for child in node.children)


def _header(data: bytes, pos: int, limit: int,
            depth: int = 0) -> tuple[int, bool, int, int, int, int]:
    """(class, constructed, tag, body start, body end, end) of the element at ``pos``,
    itself at nesting ``depth``. An indefinite length (BER) is resolved by walking to
    its end-of-contents, the walk counting depth on from ``depth`` (a walk restarting
    at 1 let nested indefinite lengths recurse without bound)."""
    if pos >= limit:
        raise ValueError(f"element truncated at offset {pos}")
    start = pos
    first = data[pos]
    pos += 1
    constructed = bool(first & 0x20)
    tag = first & 0x1F
    if tag == 0x1F:  # high tag number form
        tag = 0
        while True:
            if pos >= limit or pos - start > 5:
                raise ValueError(f"tag truncated or too long at offset {start}")
            byte = data[pos]
            tag = (tag << 7) | (byte & 0x7F)
            pos += 1
            if not byte & 0x80:
                break
    if pos >= limit:
        raise ValueError(f"length missing at offset {start}")
    length = data[pos]
    pos += 1
    if length == 0x80:  # indefinite length (BER): constructed, ends with 00 00
        if not constructed:
            raise ValueError(f"indefinite length on a primitive element at offset {start}")
        body = pos
        while True:
            if pos + 2 <= limit and data[pos] == 0 and data[pos + 1] == 0:
                return first >> 6, constructed, tag, body, pos, pos + 2
            pos = _walk(data, pos, limit, depth + 1)
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > MAX_LENGTH_BYTES or pos + count > limit:
            raise ValueError(f"bad length at offset {start}")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    end = pos + length
    if end > limit:
        raise ValueError(f"element at offset {start} runs past its container")
    return first >> 6, constructed, tag, pos, end, end


def _walk(data: bytes, pos: int, limit: int, depth: int) -> int:
    """Check the element at ``pos`` and everything inside it; return its end. (The hot
    loop of token reading: definite lengths of up to 2 bytes are read inline.)"""
    if depth > MAX_DEPTH:
        raise ValueError(f"nesting deeper than {MAX_DEPTH} at offset {pos}")
    first = data[pos] if pos < limit else -1
    length = data[pos + 1] if pos + 1 < limit else -1
    if first < 0 or length < 0 or first & 0x1F == 0x1F or length in (0x80, 0x83, 0x84) \
            or length > 0x84:
        _cls, constructed, _tag, body, body_end, end = _header(data, pos, limit, depth)
    else:
        constructed = bool(first & 0x20)
        if length < 0x80:
            body = pos + 2
        elif length == 0x81 and pos + 3 <= limit:
            body, length = pos + 3, data[pos + 2]
        elif length == 0x82 and pos + 4 <= limit:
            body, length = pos + 4, (data[pos + 2] << 8) | data[pos + 3]
        else:
            raise ValueError(f"bad length at offset {pos}")
        body_end = end = body + length
        if end > limit:
            raise ValueError(f"element at offset {pos} runs past its container")
    # An indefinite length's contents were walked by _header to find their end (so
    # end != body_end): walking them again here would double the work at every
    # level, 2**depth in all for nested ones.
    if constructed and end == body_end:
        inner = body
        while inner < body_end:
            inner = _walk(data, inner, body_end, depth + 1)
    return end
