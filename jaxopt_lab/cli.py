"""The `jaxopt-lab` command: map, bench, list (placeholder in the package skeleton)."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    print("jaxopt-lab: not implemented yet", file=sys.stderr)
    return 2
