"""``clusterecon codebook``: the canonical codebook generated from :mod:`clusterecon.schema` (= docs/codebook.md)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", metavar="PATH", help="write the codebook to PATH instead of printing it")


def run(args: argparse.Namespace) -> int:
    from ..schema import codebook_markdown

    text = codebook_markdown()
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        print(text, end="")
    return 0
