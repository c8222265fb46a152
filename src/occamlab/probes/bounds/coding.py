"""Prefix codes for describing a network in bits: Elias δ, and adaptive arithmetic coding.

An Occam bound needs a *prefix-free* code fixed before the data are seen: then Kraft's
inequality makes 2^(−length) a prior, and P[some h with e(h) > Bin⁻¹(k_h, m, δ·2^(−|h|))] ≤ δ.
Every piece of a description here is self-delimiting:

* Elias δ (Elias 1975) codes a positive integer n in ⌊log₂ n⌋ + 2⌊log₂(⌊log₂ n⌋ + 1)⌋ + 1 bits.
* Arithmetic coding (Witten, Neal & Cleary 1987) of a sequence of N symbols from an alphabet of
  K with the adaptive Krichevsky–Trofimov model: before symbol t the probability of s is
  (2c_s + 1)/(2t + K), c_s its count so far. No frequency table is sent: the model starts
  uniform and learns the counts as it goes. The ideal length is −log₂ of the sequence
  probability, which depends on the counts only,

      L_KT = log₂[Γ(N + K/2) Γ(1/2)^K / (Γ(K/2) Π_s Γ(c_s + 1/2))],

  within ½ log₂ N + O(1) bits per symbol of the empirical entropy N·H(c/N). The integer coder
  (32-bit registers, E1/E2/E3 renormalization) emits at most L_KT + 2 bits plus rounding of the
  frequencies; :func:`arithmetic_encode` returns the actual bits and :func:`arithmetic_decode`
  recovers the symbols from them (the tests round-trip every case).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import gammaln

_PRECISION = 32
_FULL = (1 << _PRECISION) - 1
_HALF = 1 << (_PRECISION - 1)
_QUARTER = 1 << (_PRECISION - 2)


def elias_delta_length(n: int) -> int:
    """Bits of the Elias δ code of a positive integer.

    >>> [elias_delta_length(n) for n in (1, 2, 3, 4, 17, 1_000_000)]
    [1, 4, 4, 5, 9, 28]
    """
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"Elias codes need a positive integer, got {n!r}")
    bits = int(n).bit_length()  # ⌊log₂ n⌋ + 1
    return bits - 1 + 2 * (bits.bit_length() - 1) + 1


def elias_delta_encode(n: int) -> list[int]:
    """The Elias δ code of a positive integer as a list of bits."""
    elias_delta_length(n)
    n = int(n)
    length = n.bit_length()
    head = [int(b) for b in bin(length)[2:]]
    return [0] * (len(head) - 1) + head + [int(b) for b in bin(n)[3:]]


def elias_delta_decode(bits: Sequence[int], start: int = 0) -> tuple[int, int]:
    """Decode one Elias δ integer from ``bits[start:]``; returns ``(n, next position)``."""
    zeros = 0
    while bits[start + zeros] == 0:
        zeros += 1
    pos = start + zeros
    length = int("".join(map(str, bits[pos : pos + zeros + 1])), 2)
    pos += zeros + 1
    tail = bits[pos : pos + length - 1]
    return int("1" + "".join(map(str, tail)), 2), pos + length - 1


def kt_code_length(counts: Sequence[int]) -> float:
    """−log₂ of the adaptive Krichevsky–Trofimov probability of any sequence with ``counts``.

    >>> round(kt_code_length([1, 0]), 6)  # one symbol of two: probability 1/2
    1.0
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 1 or c.size < 1 or (c < 0).any():
        raise ValueError("counts must be a non-empty list of non-negative integers")
    k, n = c.size, c.sum()
    nats = gammaln(n + k / 2) + k * gammaln(0.5) - gammaln(k / 2) - gammaln(c + 0.5).sum()
    return float(nats / math.log(2.0))


class _Model:
    """The adaptive KT model in integers: frequency 2c_s + 1, total 2t + K."""

    def __init__(self, num_symbols: int) -> None:
        self.freq = [1] * num_symbols
        self.cum = list(range(num_symbols + 1))  # cum[s] = Σ_{j<s} freq[j]

    @property
    def total(self) -> int:
        return self.cum[-1]

    def update(self, symbol: int) -> None:
        self.freq[symbol] += 2
        for j in range(symbol + 1, len(self.cum)):
            self.cum[j] += 2


def _check_symbols(symbols: Sequence[int], num_symbols: int) -> list[int]:
    if num_symbols < 1:
        raise ValueError(f"num_symbols must be >= 1, got {num_symbols}")
    out = [int(s) for s in symbols]
    if any(s < 0 or s >= num_symbols for s in out):
        raise ValueError(f"symbols must lie in [0, {num_symbols})")
    if 2 * len(out) + num_symbols >= _QUARTER:
        raise ValueError("sequence too long for 32-bit arithmetic coding")
    return out


def arithmetic_encode(symbols: Sequence[int], num_symbols: int) -> list[int]:
    """Arithmetic-code ``symbols`` (each in ``range(num_symbols)``) with the adaptive KT model.

    The decoder must know ``len(symbols)`` and ``num_symbols`` (they are part of the
    description's header or fixed by the architecture).
    """
    symbols = _check_symbols(symbols, num_symbols)
    model = _Model(num_symbols)
    low, high, pending = 0, _FULL, 0
    out: list[int] = []

    def emit(bit: int) -> None:
        nonlocal pending
        out.append(bit)
        out.extend([1 - bit] * pending)
        pending = 0

    for s in symbols:
        span = high - low + 1
        total = model.total
        high = low + span * model.cum[s + 1] // total - 1
        low = low + span * model.cum[s] // total
        while True:
            if high < _HALF:
                emit(0)
            elif low >= _HALF:
                emit(1)
                low -= _HALF
                high -= _HALF
            elif low >= _QUARTER and high < _HALF + _QUARTER:
                pending += 1
                low -= _QUARTER
                high -= _QUARTER
            else:
                break
            low, high = 2 * low, 2 * high + 1
        model.update(s)
    pending += 1
    emit(0 if low < _QUARTER else 1)
    return out


def arithmetic_decode(bits: Sequence[int], count: int, num_symbols: int) -> list[int]:
    """Invert :func:`arithmetic_encode`: the ``count`` symbols coded in ``bits``."""
    _check_symbols([], num_symbols)
    model = _Model(num_symbols)
    bits = list(bits)

    def bit_at(i: int) -> int:
        return bits[i] if i < len(bits) else 0

    value = 0
    for i in range(_PRECISION):
        value = 2 * value + bit_at(i)
    position = _PRECISION
    low, high = 0, _FULL
    out = []
    for _ in range(count):
        span = high - low + 1
        total = model.total
        target = ((value - low + 1) * total - 1) // span
        s = 0
        while model.cum[s + 1] <= target:
            s += 1
        high = low + span * model.cum[s + 1] // total - 1
        low = low + span * model.cum[s] // total
        while True:
            if high < _HALF:
                pass
            elif low >= _HALF:
                low, high, value = low - _HALF, high - _HALF, value - _HALF
            elif low >= _QUARTER and high < _HALF + _QUARTER:
                low, high, value = low - _QUARTER, high - _QUARTER, value - _QUARTER
            else:
                break
            low, high = 2 * low, 2 * high + 1
            value = 2 * value + bit_at(position)
            position += 1
        out.append(s)
        model.update(s)
    return out


__all__ = [
    "arithmetic_decode",
    "arithmetic_encode",
    "elias_delta_decode",
    "elias_delta_encode",
    "elias_delta_length",
    "kt_code_length",
]
