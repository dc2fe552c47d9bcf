"""`python -m hashwatch.sim [options]`: the `hashwatch simulate` command on its own."""

from __future__ import annotations

import argparse
import sys

from .command import add_parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hashwatch.sim")
    sub = parser.add_subparsers(dest="command")
    add_parser(sub)
    args = parser.parse_args(["simulate", *(sys.argv[1:] if argv is None else argv)])
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
