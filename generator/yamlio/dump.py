"""Deterministic YAML output: one library, one style, same input same bytes.

- Kubernetes objects keep their key order (the render layer builds them apiVersion, kind, metadata,
  spec, ...); nothing is sorted behind the caller's back.
- A string that any YAML 1.1 or 1.2 reader could take for something else (``on``, ``no``, ``0``,
  ``1e3``, ``2024-01-01``, ``true``, ``~``) is always quoted, so it reaches Kubernetes as a string.
- Multi-line strings are literal blocks (``|``), which keeps embedded JSON configs readable.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

try:
    from yaml import CSafeDumper as _BaseDumper
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]

# Anything a YAML 1.1 (PyYAML, go-yaml v2) or 1.2 (ruamel, go-yaml v3) reader resolves to a
# non-string when unquoted.
_AMBIGUOUS = re.compile(
    r"""^(?:
        ~|null|Null|NULL
      | y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
      | [-+]?(?:0|[1-9][0-9_]*)
      | [-+]?0[0-7_]+ | 0o[0-7]+ | [-+]?0x[0-9a-fA-F_]+ | [-+]?0b[01_]+
      | [-+]?(?:[0-9][0-9_]*)?\.?[0-9_]*(?:[eE][-+]?[0-9]+)?
      | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?
      | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
      | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*
      | <<
    )$""",
    re.VERBOSE,
)


def needs_quotes(text: str) -> bool:
    """True when an unquoted ``text`` would not be read back as this string by every YAML reader."""
    return text == "" or bool(_AMBIGUOUS.match(text))


class _Dumper(_BaseDumper):  # type: ignore[misc, valid-type]
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: _Dumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        # literal block; trailing spaces on a line would force PyYAML to fall back to quoting
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    if needs_quotes(data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _represent_str)


def dump_documents(docs: list[Any], header: str = "") -> bytes:
    """A multi-document YAML stream (``---`` between documents), UTF-8, with an optional comment header."""
    body = yaml.dump_all(
        docs,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100000,
        indent=2,
        explicit_start=len(docs) > 1,
    )
    return (header + body).encode("utf-8")


def dump_document(doc: Any, header: str = "") -> bytes:
    return dump_documents([doc], header)
