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


_RESOLVERS: dict[Any, list[tuple[str, re.Pattern[str]]]] = _Dumper.yaml_implicit_resolvers
# What the fast writer writes itself (``_fast``); anything else is left to PyYAML, whole. A plain scalar: a
# conservative subset of what PyYAML's emitter writes plain in block context (no indicator, quote, comment or escape
# character; no leading, trailing or double space; no ": "; ASCII); a quoted one (``needs_quotes``): printable ASCII
# with nothing to escape; a literal block: printable ASCII lines, none ending in a space, no leading space or break,
# at most one trailing break.
_PLAIN = re.compile(r"[A-Za-z0-9_/.-][A-Za-z0-9_/.:@,=+ ()-]*\Z")
_QUOTABLE = re.compile(r'[\x20-\x21\x23-\x5b\x5d-\x7e]*\Z')
_BLOCK = re.compile(r"[\x21-\x7e](?:[\x20-\x7e\n]*[\x21-\x7e])?\n?\Z")
_LONGEST = 1000  # characters of a one-line scalar the fast writer writes (PyYAML folds one past its width, 100,000)
_LONGEST_KEY = 100  # PyYAML writes a key of 128 characters or more as a complex key (``? ``)


# _scalar's answers for short strings, which a fleet's objects repeat (keys, kinds, images): at most _MOST_WRITTEN of
# at most _REMEMBERED characters each (a few MB)
_WRITTEN: dict[tuple[str, bool], str | None] = {}
_MOST_WRITTEN = 50_000
_REMEMBERED = 128


def _scalar(value: Any, key: bool = False) -> str | None:
    """How PyYAML writes a scalar on one line with this module's representer, when the fast writer knows; None when
    it does not (a multi-line string, a float, any other type, a string outside the subsets above)."""
    if type(value) is str:
        if len(value) > _REMEMBERED:
            return _string(value, key)
        known = _WRITTEN.get((value, key), _WRITTEN)
        if known is not _WRITTEN:
            return known  # type: ignore[return-value]
        if len(_WRITTEN) >= _MOST_WRITTEN:
            _WRITTEN.clear()
        written = _WRITTEN[(value, key)] = _string(value, key)
        return written
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return str(value)
    return None


def _string(value: str, key: bool) -> str | None:
    if len(value) > (_LONGEST_KEY if key else _LONGEST):
        return None
    if needs_quotes(value):
        return f'"{value}"' if _QUOTABLE.match(value) else None
    if (not _PLAIN.match(value) or value.endswith((" ", ":")) or ": " in value or "  " in value
            or value.startswith(("...", "---", "- ")) or value == "-"):
        return None
    for _, regexp in _RESOLVERS.get(value[0], []) + _RESOLVERS.get(None, []):
        if regexp.match(value):  # PyYAML's resolver reads it as another type: it quotes it
            return None
    return value


class _Unknown(Exception):
    """A value the fast writer leaves to PyYAML."""


def _value(value: Any, indent: int, out: list[str]) -> None:
    """``value`` after ``key:`` or ``-`` on the line written last, its block (if any) at ``indent``."""
    if (type(value) is dict or type(value) is list) and not value:
        out.append(" {}\n" if type(value) is dict else " []\n")  # an empty one in flow style, as PyYAML does
    elif type(value) is dict:
        out.append("\n")
        _mapping(value, indent, out, False)
    elif type(value) is list:
        out.append("\n")
        _sequence(value, indent, out, False)
    elif type(value) is str and "\n" in value:
        if not _BLOCK.match(value) or " \n" in value:
            raise _Unknown
        lines = value[:-1] if value.endswith("\n") else value
        pad = " " * (indent + 2)
        out.append(" |\n" if value.endswith("\n") else " |-\n")
        out.extend(f"{pad}{line}\n" if line else "\n" for line in lines.split("\n"))
    else:
        text = _scalar(value)
        if text is None:
            raise _Unknown
        out.append(f" {text}\n")


def _mapping(mapping: dict[Any, Any], indent: int, out: list[str], inline: bool) -> None:
    pad = " " * indent
    for key, value in mapping.items():
        text = _scalar(key, key=True) if type(key) is str else None
        if text is None:
            raise _Unknown
        out.append(f"{text}:" if inline else f"{pad}{text}:")
        inline = False
        if type(value) is dict and value:
            _value(value, indent + 2, out)
        else:
            _value(value, indent, out)  # a sequence in a mapping: its dashes under the key


def _sequence(items: list[Any], indent: int, out: list[str], inline: bool) -> None:
    pad = " " * indent
    for item in items:
        out.append("-" if inline else f"{pad}-")
        inline = False
        if type(item) is dict and item:
            out.append(" ")
            _mapping(item, indent + 2, out, True)
        elif type(item) is list and item:
            out.append(" ")
            _sequence(item, indent + 2, out, True)
        else:
            _value(item, indent, out)


def _fast(docs: list[Any]) -> str | None:
    """What ``yaml.dump_all`` writes for ``docs`` in ``dump_documents``'s style, written here for the values Kubernetes
    objects hold (mappings, sequences, strings, integers, booleans, null) and 5 to 10 times as fast; None when a value
    is outside what it knows (then PyYAML writes the stream). tests/yamlio/test_dump.py holds it to PyYAML."""
    out: list[str] = []
    try:
        for doc in docs:
            if len(docs) > 1:
                out.append("---\n")
            if type(doc) is dict and doc:
                _mapping(doc, 0, out, True)
            elif type(doc) is list and doc:
                _sequence(doc, 0, out, True)
            else:
                return None
    except (_Unknown, RecursionError):
        return None
    return "".join(out)


def dump_documents(docs: list[Any], header: str = "") -> bytes:
    """A multi-document YAML stream (``---`` between documents), UTF-8, with an optional comment header."""
    fast = _fast(docs)
    if fast is not None:
        return (header + fast).encode("utf-8")
    return _dumped(docs, header)


def _dumped(docs: list[Any], header: str = "") -> bytes:
    """``dump_documents`` by PyYAML."""
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
