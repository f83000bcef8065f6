"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, inclusion and consistency proofs.

Trees are built over leaf *hashes* (``leaf_hash(entry)``), so callers keep 32-byte hashes, not
entries. The verifiers are deliberately strict: every argument is shape-checked before any
hashing, and anything that does not verify exactly raises ``ProofError``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

HASH_SIZE = 32
# Tree sizes and indices are uint64 in RFC 9162; anything larger cannot come from a real log.
_MAX_UINT64 = 2**64 - 1
_HEX_HASH = re.compile(r"[0-9a-f]{64}")


class ProofError(ValueError):
    """A proof did not verify (malformed, wrong length, or wrong root)."""


def leaf_hash(entry: bytes) -> bytes:
    """Return the leaf hash SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the interior node hash SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def empty_root() -> bytes:
    """Return the root of the empty tree, SHA-256 of the empty string."""
    return hashlib.sha256(b"").digest()


def _check_uint(value: object, what: str, exc: type[ValueError]) -> int:
    # bool is an int subclass; True must not silently mean index 1.
    if type(value) is not int or not 0 <= value <= _MAX_UINT64:
        raise exc(f"{what} must be an integer in [0, 2**64), got {value!r:.40}")
    return value


def _check_hash(value: object, what: str, exc: type[ValueError]) -> bytes:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise exc(f"{what} must be {HASH_SIZE} bytes, got {value!r:.80}")
    return value


def _check_hashes(values: Sequence[bytes], what: str, exc: type[ValueError]) -> list[bytes]:
    # A bare bytes/str is a Sequence too, but iterating it yields ints/chars, not hashes.
    if isinstance(values, bytes | bytearray | str):
        raise exc(f"{what} must be a sequence of hashes, not {type(values).__name__}")
    return [_check_hash(h, f"{what}[{i}]", exc) for i, h in enumerate(values)]


def _split(n: int) -> int:
    # RFC 9162's k: the largest power of two strictly less than n (n >= 2).
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle Tree Hash over the given leaf hashes (RFC 9162 2.1.1)."""
    level = _check_hashes(leaf_hashes, "leaf_hashes", ValueError)
    if not level:
        return empty_root()
    # Pairing neighbours left to right and promoting an odd last node unchanged builds exactly
    # the tree of the RFC's "split at the largest power of two" recursion, in O(n) and no stack.
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


class Frontier:
    """Compact range of a growing tree: at most log2(n)+1 subtree roots, so append is O(log n)."""

    size: int

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        """Restore a frontier from its size and perfect-subtree roots, largest subtree first."""
        self.size = _check_uint(size, "size", ValueError)
        self._hashes = _check_hashes(hashes, "hashes", ValueError)
        # One perfect subtree per set bit of size, so the size fixes how many roots there are.
        if len(self._hashes) != size.bit_count():
            raise ValueError(f"size {size} needs {size.bit_count()} hashes, got {len(hashes)}")

    def append(self, leaf_hash: bytes) -> None:
        """Append one leaf hash at the right edge of the tree."""
        node = _check_hash(leaf_hash, "leaf_hash", ValueError)
        n = self.size
        # Each trailing 1 bit of size is a perfect subtree as tall as `node`: merge them, like
        # carrying in binary addition. The merged subtrees are always the rightmost ones.
        while n & 1:
            node = node_hash(self._hashes.pop(), node)
            n >>= 1
        self._hashes.append(node)
        self.size += 1

    def root(self) -> bytes:
        """Return the Merkle Tree Hash of every leaf appended so far."""
        if not self._hashes:
            return empty_root()
        # The RFC splits at the largest power of two, so the root is the subtree roots folded
        # from the smallest (rightmost) one leftwards.
        root = self._hashes[-1]
        for h in reversed(self._hashes[:-1]):
            root = node_hash(h, root)
        return root

    def to_json(self) -> str:
        """Serialise as {"size": n, "hashes": [hex, ...]} for storage in a DB row."""
        return json.dumps({"size": self.size, "hashes": [h.hex() for h in self._hashes]})

    @classmethod
    def from_json(cls, text: str) -> Frontier:
        """Parse to_json output, raising ValueError on anything malformed."""
        data = json.loads(text)  # JSONDecodeError is a ValueError
        if not isinstance(data, dict) or set(data) != {"size", "hashes"}:
            raise ValueError("frontier JSON must be an object with exactly 'size' and 'hashes'")
        hexes = data["hashes"]
        # Only the exact form to_json writes: bytes.fromhex alone would accept spaces and case.
        if not isinstance(hexes, list) or not all(
            isinstance(h, str) and _HEX_HASH.fullmatch(h) for h in hexes
        ):
            raise ValueError("frontier 'hashes' must be a list of 64-char lowercase hex strings")
        return cls(data["size"], [bytes.fromhex(h) for h in hexes])


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Return the inclusion path of leaf `index` (RFC 9162 2.1.3.1), ordered leaf to root."""
    leaves = _check_hashes(leaf_hashes, "leaf_hashes", ValueError)
    if type(index) is not int or not 0 <= index < len(leaves):
        raise ValueError(f"index {index!r} out of range for {len(leaves)} leaves")
    # Walk down from the root; each split contributes the sibling subtree's hash. That
    # collects the path top-down, so reverse it at the end.
    path: list[bytes] = []
    lo, hi = 0, len(leaves)
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(root_from_leaves(leaves[lo + k : hi]))
            hi = lo + k
        else:
            path.append(root_from_leaves(leaves[lo : lo + k]))
            lo += k
    return path[::-1]


def consistency_proof(size1: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Return the consistency proof from the first size1 leaves to all (RFC 9162 2.1.4.1)."""
    leaves = _check_hashes(leaf_hashes, "leaf_hashes", ValueError)
    if type(size1) is not int or not 0 < size1 <= len(leaves):
        raise ValueError(f"size1 {size1!r} must be in [1, {len(leaves)}]")
    # SUBPROOF(m, D[lo:hi], b) unrolled; `m` is size1 relative to lo.
    path: list[bytes] = []
    lo, hi, m, starts_at_root1 = 0, len(leaves), size1, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            path.append(root_from_leaves(leaves[lo + k : hi]))
            hi = lo + k
        else:
            path.append(root_from_leaves(leaves[lo : lo + k]))
            lo, m, starts_at_root1 = lo + k, m - k, False
    # If the descent only ever went left, the old tree is a perfect subtree whose hash is root1,
    # which the verifier already has; otherwise it needs the subtree where the descent ended.
    if not starts_at_root1:
        path.append(root_from_leaves(leaves[lo:hi]))
    return path[::-1]


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check an inclusion proof as in RFC 9162 2.1.3.2; raise ProofError unless it verifies."""
    fn = _check_uint(index, "index", ProofError)
    sn = _check_uint(size, "size", ProofError) - 1
    r = _check_hash(leaf_hash, "leaf_hash", ProofError)
    _check_hash(root, "root", ProofError)
    path = _check_hashes(proof, "proof", ProofError)
    if index >= size:
        raise ProofError(f"index {index} is not below tree size {size}")
    for p in path:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # On the right border a node has no sibling at some levels and is promoted
            # unchanged: skip those levels until it is a right child again (or the root).
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    # sn != 0 means the path stopped below the root: the proof was too short.
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    if r != root:
        raise ProofError("inclusion proof does not lead to the given root")


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Check a consistency proof as in RFC 9162 2.1.4.2; raise ProofError unless it verifies."""
    _check_uint(size1, "size1", ProofError)
    _check_uint(size2, "size2", ProofError)
    path = _check_hashes(proof, "proof", ProofError)
    if size1 > size2:
        raise ProofError(f"size1 {size1} is greater than size2 {size2}")
    # The RFC defines proofs only from a non-empty tree; "every tree extends the empty tree"
    # proves nothing, so treat it as a caller error rather than a vacuous success.
    if size1 == 0:
        raise ProofError("consistency with the empty tree is meaningless")
    if size1 == size2:
        # PROOF(m, D[m]) is empty: all that can be checked is that the roots agree.
        if path:
            raise ProofError("sizes are equal but the proof is not empty")
        # Equal sizes are checked by equality alone, whatever the roots' form, as the
        # reference vectors expect; no hashing happens, so nothing malformed can slip through.
        if root1 != root2:
            raise ProofError("sizes are equal but the roots differ")
        return
    _check_hash(root1, "root1", ProofError)
    _check_hash(root2, "root2", ProofError)
    if not path:  # step 1
        raise ProofError("consistency proof is empty")
    if size1 & (size1 - 1) == 0:  # step 2: a power-of-two old tree is a node the proof omits
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            # A left sibling: part of both the old and the new tree.
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            # A right sibling: only leaves appended after size1, so only the new root.
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != root1:
        raise ProofError("consistency proof does not lead to root1")
    if sr != root2:
        raise ProofError("consistency proof does not lead to root2")
