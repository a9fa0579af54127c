"""What the codec's checks cost over ``orjson.dumps``, on the three benchmark documents.

    python -m benchmarks.codec [--repeat N]

Prints µs per call (the best of N timeit rounds) for ``orjson.dumps`` alone and for
``jeex_cache.core.codec.encode`` (dumps plus the NaN/infinity and size checks), the checks'
cost as a multiple of dumps (the target: at most 1x), and, for reference, what the two ways
the check looks cost alone: packing the document as MessagePack (``ormsgpack``, in C) and
walking it in Python.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from collections.abc import Callable
from functools import partial
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
import ormsgpack

from benchmarks._payloads import PAYLOADS
from jeex_cache.core.codec import _JSON_TYPES_ONLY, _walk, encode

__all__ = ["main"]


def _best_us(call: Callable[[], object], number: int, repeat: int) -> float:
    return min(timeit.repeat(call, number=number, repeat=repeat)) / number * 1e6


def main(argv: list[str] | None = None) -> None:
    """Time dumps and encode on each payload and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    print(
        f"{'payload':8} {'bytes':>7} {'dumps µs':>10} {'encode µs':>10} {'check µs':>9} "
        f"{'check/dumps':>11} {'packed µs':>10} {'walk µs':>8}"
    )
    for name, make in PAYLOADS.items():
        document = make()
        size = len(orjson.dumps(document))
        number = max(1, 2_000_000 // max(size, 100))
        dumps = _best_us(partial(orjson.dumps, document), number, args.repeat)
        encoded = _best_us(partial(encode, document, 1 << 30), number, args.repeat)
        packed = _best_us(
            partial(ormsgpack.packb, document, option=_JSON_TYPES_ONLY), number, args.repeat
        )
        walked = _best_us(partial(_walk, document), number, args.repeat)
        check = encoded - dumps
        print(
            f"{name:8} {size:7} {dumps:10.2f} {encoded:10.2f} {check:9.2f} "
            f"{check / dumps:10.2f}x {packed:10.2f} {walked:8.2f}"
        )


if __name__ == "__main__":
    main()
