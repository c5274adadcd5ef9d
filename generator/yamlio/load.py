"""Safe, strict YAML loading for user input (cluster specs, linted manifests).

What it guarantees, whatever the input:
- bytes must be UTF-8 (a BOM is accepted), and a file larger than ``max_bytes`` is refused;
- duplicate mapping keys are errors (the API server's strict decoding rejects them too);
- scalars resolve with the YAML 1.2 core schema: only ``true``/``false`` are booleans, so ``on``,
  ``yes`` and ``no`` stay strings; timestamps stay strings; ``0777`` is the string it looks like;
- alias expansion is bounded (no "billion laughs");
- every value remembers the line and column it came from (``Document.position``).

Errors are ``YamlInputError`` with the file, line and column; callers turn them into exit code 2.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

try:  # libyaml's scanner and parser are ~10x faster; the pure one gives the same nodes
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_NODES = 1_000_000

JsonPath = tuple[str | int, ...]


class YamlInputError(ValueError):
    """Bad YAML input: carries where it is, what to do, and its ``kind``: ``syntax`` (also encoding, tags, tabs),
    ``duplicate-key`` or ``too-large`` (size or alias expansion)."""

    def __init__(self, file: str, message: str, line: int | None = None, column: int | None = None,
                 kind: str = "syntax"):
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.kind = kind
        super().__init__(self.render())

    def render(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


@dataclass
class Document:
    """One YAML document: its plain value and the position of every node in it."""

    value: Any
    line: int  # 1-based line of the document's first node
    positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: JsonPath) -> tuple[int, int]:
        """(line, column), 1-based, of the node at ``path`` or of its nearest existing parent."""
        probe = tuple(path)
        while probe:
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return self.positions.get((), (self.line, 1))


# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution)
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT10 = re.compile(r"^[-+]?[0-9]+$")
_INT8 = re.compile(r"^0o[0-7]+$")
_INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")

_STR_TAG = "tag:yaml.org,2002:str"
_EXPLICIT_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:binary",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:omap",
    "tag:yaml.org,2002:set",
}


def resolve_plain_scalar(text: str) -> Any:
    """The value of an unquoted scalar under the YAML 1.2 core schema."""
    if _NULL.match(text):
        return None
    if _BOOL.match(text):
        return text.lower() == "true"
    if _INT10.match(text):
        # a leading zero is not an octal in 1.2; keep what the user typed when it is ambiguous
        digits = text.lstrip("+-")
        if len(digits) > 1 and digits.startswith("0"):
            return text
        return int(text)
    if _INT8.match(text):
        return int(text[2:], 8)
    if _INT16.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return math.nan
    return text


class _Composer:
    """Turns PyYAML nodes into plain Python values, recording positions."""

    def __init__(self, file: str, max_nodes: int):
        self.file = file
        self.budget = max_nodes
        self.positions: dict[JsonPath, tuple[int, int]] = {}

    def _error(self, node: yaml.Node, message: str, kind: str = "syntax") -> YamlInputError:
        return YamlInputError(self.file, message, node.start_mark.line + 1, node.start_mark.column + 1, kind)

    def build(self, node: yaml.Node, path: JsonPath, depth: int = 0) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise self._error(node, "document too large after alias expansion (possible alias bomb); "
                                    "write the values out instead of using anchors/aliases", "too-large")
        if depth > 200:
            raise self._error(node, "nesting deeper than 200 levels")
        self.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        raise self._error(node, f"unsupported YAML node {type(node).__name__}")  # pragma: no cover

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        text = node.value
        if node.style in ("'", '"', "|", ">"):
            return text
        tag = node.tag
        if tag == _STR_TAG and not _is_implicit(node):
            return text  # explicit !!str
        if tag.startswith("!") or (tag not in _EXPLICIT_TAGS and tag.startswith("tag:")):
            raise self._error(node, f"unsupported YAML tag {tag!r}; remove the tag")
        return resolve_plain_scalar(text)

    def _mapping(self, node: yaml.MappingNode, path: JsonPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self._error(key_node, "YAML merge keys ('<<') are not supported; write the keys out")
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._error(key_node, "mapping keys must be plain strings")
            key = key_node.value if key_node.style else resolve_plain_scalar(key_node.value)
            if not isinstance(key, str):
                # Kubernetes (and JSON) keys are strings; a bare `1:` or `true:` is almost always a mistake
                key = key_node.value
            if key in result:
                first = self.positions.get((*path, key), (0, 0))[0]
                raise self._error(key_node, f"duplicate key {key!r} (first defined on line {first}); "
                                            "remove one of them", "duplicate-key")
            result[key] = self.build(value_node, (*path, key), depth + 1)
        return result


_RESOLVER = yaml.resolver.Resolver()


def _is_implicit(node: yaml.ScalarNode) -> bool:
    # PyYAML does not expose whether a tag was explicit; an explicit !!str on a plain scalar that the
    # 1.1 resolver would not call a string is the only case where it matters.
    resolved = _RESOLVER.resolve(yaml.ScalarNode, node.value, (True, False))
    return bool(resolved == node.tag)


def decode(data: bytes, file: str, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """UTF-8 text of a file's bytes, or a YamlInputError saying what is wrong."""
    if len(data) > max_bytes:
        raise YamlInputError(file, f"file is {len(data):,} bytes, more than the limit of {max_bytes:,}",
                             kind="too-large")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlInputError(file, f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
                             line) from None
    if "\x00" in text:
        raise YamlInputError(file, "contains NUL bytes: not a text file", text[: text.index("\x00")].count("\n") + 1)
    return text


def _tab_line(text: str, line: int) -> bool:
    lines = text.splitlines()
    return 0 < line <= len(lines) and "\t" in lines[line - 1]


def iter_documents(text: str, file: str, max_nodes: int = DEFAULT_MAX_NODES) -> Iterator[Document]:
    """Each non-empty document of a YAML stream, as a Document."""
    loader = _BaseLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node said there was one
                continue
            composer = _Composer(file, max_nodes)
            value = composer.build(node, ())
            yield Document(value, node.start_mark.line + 1, composer.positions)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        if line is not None and _tab_line(text, line):
            problem += " (this line contains a tab: YAML indentation must use spaces)"
        raise YamlInputError(file, f"invalid YAML: {problem}", line, column) from None
    except yaml.YAMLError as exc:  # pragma: no cover - reader errors without marks
        raise YamlInputError(file, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise YamlInputError(file, "YAML nested too deeply") from None
    finally:
        loader.dispose()


def load_documents(data: bytes, file: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                   max_nodes: int = DEFAULT_MAX_NODES) -> list[Document]:
    """All non-empty documents of a file's bytes (empty documents are skipped)."""
    text = decode(data, file, max_bytes)
    return [doc for doc in iter_documents(text, file, max_nodes) if doc.value is not None]


def load_single(data: bytes, file: str, *, max_bytes: int = 1024 * 1024) -> Document:
    """Exactly one document (cluster specs)."""
    docs = load_documents(data, file, max_bytes=max_bytes, max_nodes=100_000)
    if not docs:
        raise YamlInputError(file, "file is empty; it must hold one YAML mapping")
    if len(docs) > 1:
        raise YamlInputError(file, f"holds {len(docs)} YAML documents; it must hold exactly one", docs[1].line)
    return docs[0]
