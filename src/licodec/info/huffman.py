"""Canonical Huffman code with deterministic tie-breaking.

Huffman (1952), "A Method for the Construction of Minimum-Redundancy Codes": repeatedly merge
the two least probable nodes; the depth of each leaf is an optimal codeword length, i.e. no
prefix code has a smaller expected length (Cover & Thomas, 2nd ed., §5.6 and §5.8). The mean
length satisfies H <= mean(L) < H + 1, and for two or more symbols the lengths meet Kraft's
inequality with equality (sum 2**-L = 1, C&T §5.2).

Only the lengths come from the tree. Codewords are then assigned *canonically* (as in DEFLATE,
RFC 1951 §3.2.2): symbols sorted by (length, alphabet position) receive consecutive binary
numbers, shifted left whenever the length grows. A decoder needs only the lengths.

Tie-breaking, so that the same input always gives the same code: when weights are equal, the
node created first is merged first, where the leaves count as created in alphabet order
(the order of the weights mapping) before any merged node, and merged nodes in the order they
are made. Symbols of probability 0 get no codeword; a single symbol gets the codeword ``"0"``.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Mapping

from licodec.info.prefix import PrefixCode, exact_probabilities

__all__ = ["huffman_lengths", "canonical_codewords", "huffman_code"]


def huffman_lengths(weights: Mapping[Hashable, object]) -> dict[Hashable, int]:
    """Optimal codeword lengths by Huffman's algorithm (deterministic ties; see module doc)."""
    probs = exact_probabilities(weights)
    symbols = [s for s, p in probs.items() if p > 0]
    if len(symbols) == 1:
        return {symbols[0]: 1}
    heap = [(probs[s], i) for i, s in enumerate(symbols)]  # (weight, node id == creation order)
    heapq.heapify(heap)
    parent: list[int] = [-1] * (2 * len(symbols) - 1)
    next_id = len(symbols)
    while len(heap) > 1:
        w1, a = heapq.heappop(heap)
        w2, b = heapq.heappop(heap)
        parent[a] = parent[b] = next_id
        heapq.heappush(heap, (w1 + w2, next_id))
        next_id += 1
    depth = [0] * len(parent)
    for node in range(len(parent) - 2, -1, -1):  # parents have larger ids than children
        depth[node] = depth[parent[node]] + 1
    return {s: depth[i] for i, s in enumerate(symbols)}


def canonical_codewords(lengths: Mapping[Hashable, int]) -> dict[Hashable, str]:
    """Canonical codewords for the given lengths, ties in length broken by mapping order.

    Raises ``ValueError`` if the lengths violate Kraft's inequality (no prefix code exists).
    """
    items = list(lengths.items())
    order = sorted(range(len(items)), key=lambda i: (items[i][1], i))
    codewords: dict[Hashable, str] = {}
    code, prev_len = 0, 0
    for i in order:
        s, length = items[i]
        if length < 1:
            raise ValueError(f"codeword length of {s!r} must be >= 1, got {length}")
        code <<= length - prev_len
        if code >= 1 << length:
            raise ValueError("lengths violate Kraft's inequality: no prefix code has them")
        codewords[s] = format(code, f"0{length}b")
        code += 1
        prev_len = length
    return {s: codewords[s] for s in lengths}


def huffman_code(weights: Mapping[Hashable, object]) -> PrefixCode:
    """Canonical Huffman code for symbol weights (normalized to probabilities).

    >>> huffman_code({"貝果": 6, "蛋餅": 5, "吐司": 2, "漢堡": 1}).codewords
    {'貝果': '0', '蛋餅': '10', '吐司': '110', '漢堡': '111'}
    """
    probs = exact_probabilities(weights)
    return PrefixCode("huffman", probs, canonical_codewords(huffman_lengths(probs)))
