"""The pure core: streaming digests and the Merkle path rule."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from provelio_verify.bundle import PathStep
from provelio_verify.core.anchor.merkle import check_path, replay_path
from provelio_verify.core.digest import CHUNK_SIZE, check_sha256, hash_stream
from provelio_verify.outcome import CheckFailure
from provelio_verify.report import SubIndication


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1,
                                  3 * CHUNK_SIZE + 17])
def test_hash_stream_matches_hashlib_at_chunk_edges(size):
    data = os.urandom(size)
    digests, total = hash_stream(io.BytesIO(data), ("sha256", "sha384", "sha512"))
    assert total == size
    assert digests["sha256"] == hashlib.sha256(data).digest()
    assert digests["sha384"] == hashlib.sha384(data).digest()
    assert digests["sha512"] == hashlib.sha512(data).digest()


def test_hash_stream_works_without_readinto_and_reports_progress():
    class Reader:
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def read(self, n):
            return self.inner.read(min(n, 1000))

    seen = []
    data = b"x" * 5500
    digests, total = hash_stream(Reader(data), progress=seen.append)
    assert digests["sha256"] == hashlib.sha256(data).digest() and total == 5500
    assert sum(seen) == 5500


def test_weak_algorithms_are_not_offered():
    with pytest.raises(ValueError, match="md5"):
        hash_stream(io.BytesIO(b""), ("md5",))


def test_sha256_mismatch_names_both_values():
    with pytest.raises(CheckFailure) as caught:
        check_sha256(b"\x01" * 32, b"\x02" * 32, size=None, claimed_size=None)
    assert caught.value.sub_indication is SubIndication.HASH_FAILURE
    assert "01" * 32 in caught.value.message and "02" * 32 in caught.value.message


def test_size_mismatch_fails_even_when_hash_matches():
    with pytest.raises(CheckFailure, match="file size 10 bytes does not match fileSize 11"):
        check_sha256(b"\x01" * 32, b"\x01" * 32, size=10, claimed_size=11)
    assert "matches" in check_sha256(b"\x01" * 32, b"\x01" * 32, size=10,
                                     claimed_size=10).message


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_path_rule_left_and_right():
    leaf, a, b = _h(b"leaf"), _h(b"a"), _h(b"b")
    steps = [PathStep("right", a), PathStep("left", b)]
    expected = _h(b + _h(leaf + a))
    assert replay_path(leaf, steps).root == expected
    assert check_path(leaf, steps, expected).intermediates == (_h(leaf + a), expected)


def test_empty_path_means_leaf_is_root():
    leaf = _h(b"only")
    assert check_path(leaf, [], leaf).root == leaf
    with pytest.raises(CheckFailure):
        check_path(leaf, [], _h(b"other"))


def test_swapped_side_fails():
    leaf, a = _h(b"leaf"), _h(b"a")
    root = _h(leaf + a)
    with pytest.raises(CheckFailure) as caught:
        check_path(leaf, [PathStep("left", a)], root)
    assert root.hex() in caught.value.message
