"""Arguments several commands share: the cluster selection and the schema source."""

from __future__ import annotations

import argparse
from pathlib import Path


def schema_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="mirror", type=Path, default=None, metavar="DIR",
                   help="read CRD schemas from DIR laid out like shared/upstream/ instead of the cache "
                        "(env GEN_SCHEMA_MIRROR)")


def selection(p: argparse.ArgumentParser, required: bool) -> None:
    group = p.add_mutually_exclusive_group(required=required)
    group.add_argument("--cluster", action="append", default=[], metavar="NAME",
                       help="a cluster spec clusters/NAME.yaml (repeatable)")
    group.add_argument("--all", action="store_true", help="every spec in clusters/")
