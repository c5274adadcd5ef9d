"""Safe, strict YAML loading for user input (cluster specs, linted manifests).

What it guarantees, whatever the input:
- bytes must be UTF-8 (a BOM is accepted), and a file larger than ``max_bytes`` is refused;
- duplicate mapping keys are errors (the API server's strict decoding rejects them too);
- scalars resolve with the YAML 1.2 core schema: only ``true``/``false`` are booleans, so ``on``,
  ``yes`` and ``no`` stay strings; timestamps stay strings; ``0777`` is the string it looks like;
- alias expansion is bounded in nodes and in characters (no "billion laughs", and no one long string aliased a
  thousand times): the document once aliases are expanded may hold no more characters than the file may hold bytes;
- every value remembers the line and column it came from (``Document.position``).

Errors are ``YamlInputError`` with the file, line and column; callers turn them into exit code 2.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from generator.core.fs import MAX_FILE_BYTES

try:  # libyaml's scanner and parser are ~10x faster; the pure one gives the same nodes
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

DEFAULT_MAX_BYTES = MAX_FILE_BYTES
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
    key_positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)  # where each mapping key is

    def position(self, path: JsonPath) -> tuple[int, int]:
        """(line, column), 1-based, of the node at ``path`` or of its nearest existing parent."""
        probe = tuple(path)
        while probe:
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return self.positions.get((), (self.line, 1))

    def key_position(self, path: JsonPath) -> tuple[int, int]:
        """(line, column) of the key of the mapping entry at ``path`` (a misspelled key is pointed at, not its
        value); where the path ends in no key, as ``position``."""
        return self.key_positions.get(tuple(path)) or self.position(path)


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


# the first characters a plain scalar that is not a string can start with (null, bool, int, float, inf, nan)
_NOT_ONLY_STRING = frozenset("~nNtTfF0123456789+-.")


def resolve_plain_scalar(text: str) -> Any:
    """The value of an unquoted scalar under the YAML 1.2 core schema."""
    if text and text[0] not in _NOT_ONLY_STRING:
        return text  # no other resolution starts with this character
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


MAX_DEPTH = 200
_SCALAR, _ALIAS = yaml.ScalarEvent, yaml.AliasEvent
_MAPPING_START, _MAPPING_END = yaml.MappingStartEvent, yaml.MappingEndEvent
_SEQUENCE_START, _SEQUENCE_END = yaml.SequenceStartEvent, yaml.SequenceEndEvent
_DOCUMENT_END = yaml.DocumentEndEvent


class _Frame:
    """A collection being composed: its value, path, and (for a mapping) the key waiting for its value."""

    __slots__ = ("anchor", "chars", "is_map", "key", "key_mark", "nodes", "path", "value")

    def __init__(self, value: dict[str, Any] | list[Any], path: JsonPath, anchor: str | None):
        self.value, self.path, self.anchor = value, path, anchor
        self.is_map = isinstance(value, dict)
        self.key: str | None = None
        self.key_mark: Any = None
        self.nodes = 1  # this collection and everything in it (for aliases of it)
        self.chars = 0  # the characters of its keys and scalars, aliases expanded


class _Composer:
    """Composes plain Python values from the parser's events, with an explicit stack (never recursion, in C or
    Python, whatever the nesting), recording the position of every value.

    Bounded: nesting deeper than ``MAX_DEPTH``, more than ``max_nodes`` values and more than ``max_chars``
    characters of keys and scalars once aliases are expanded, are errors before any work in proportion to them is
    done."""

    def __init__(self, loader: Any, file: str, max_nodes: int, max_chars: int):
        self.loader, self.file = loader, file
        self.budget = self.max_nodes = max_nodes
        self.chars = max_chars
        self.max_chars = max_chars
        self.anchors: dict[str, tuple[Any, int, int]] = {}
        self.positions: dict[JsonPath, tuple[int, int]] = {}
        self.key_positions: dict[JsonPath, tuple[int, int]] = {}

    def _error(self, mark: Any, message: str, kind: str = "syntax") -> YamlInputError:
        return YamlInputError(self.file, message, mark.line + 1, mark.column + 1, kind)

    def _spend(self, mark: Any, nodes: int, chars: int = 0) -> None:
        self.budget -= nodes
        self.chars -= chars
        if self.budget < 0:
            raise self._error(mark, f"document of more than {self.max_nodes:,} values once its aliases are expanded "
                                    "(an alias bomb, or not the file it should be); write the values out instead of "
                                    "using anchors/aliases", "too-large")
        if self.chars < 0:
            raise self._error(mark, f"document larger than {self.max_chars:,} characters once its aliases are "
                                    "expanded (an alias repeats a long value); write the values out instead of "
                                    "using anchors/aliases", "too-large")

    def _scalar(self, event: yaml.ScalarEvent) -> Any:
        text = event.value
        tag = event.tag
        if tag is None or (not event.style and event.implicit[0]):
            return text if event.style else self._plain(event)
        if tag == _STR_TAG:
            return text  # explicit !!str
        if tag.startswith("!") or tag not in _EXPLICIT_TAGS:
            raise self._error(event.start_mark, f"unsupported YAML tag {tag!r}; remove the tag")
        return text if event.style else self._plain(event)

    def _plain(self, event: yaml.ScalarEvent) -> Any:
        try:
            return resolve_plain_scalar(event.value)
        except ValueError:  # an integer longer than Python converts (4300 digits)
            raise self._error(event.start_mark, f"a number of {len(event.value)} characters is too long; quote it "
                                                "if it is a string") from None

    def _collection_tag(self, event: Any, allowed: str) -> None:
        if event.tag is not None and not event.implicit and event.tag != allowed:
            raise self._error(event.start_mark, f"unsupported YAML tag {event.tag!r} on a "
                                                f"{'mapping' if allowed.endswith('map') else 'sequence'}; "
                                                "remove the tag")

    def document(self) -> tuple[Any, int]:
        """The next document's value (its DocumentStartEvent already read) and its first line."""
        stack: list[_Frame] = []
        root: Any = None
        first_line = 0
        get_event, positions = self.loader.get_event, self.positions
        while True:
            event = get_event()
            kind = event.__class__  # the parser's own event classes, never subclassed
            if kind is _MAPPING_END or kind is _SEQUENCE_END:
                done = stack.pop()
                if done.anchor is not None:
                    self.anchors[done.anchor] = (done.value, done.nodes, done.chars)
                if stack:
                    stack[-1].nodes += done.nodes
                    stack[-1].chars += done.chars
                continue
            if kind is _DOCUMENT_END:
                return root, first_line
            parent = stack[-1] if stack else None
            if parent is not None and parent.is_map and parent.key is None:
                self._key(event, kind, parent)
                continue
            if parent is None:
                path: JsonPath = ()
            elif parent.is_map:
                path = (*parent.path, parent.key)  # type: ignore[arg-type]  # the key read before its value
            else:
                path = (*parent.path, len(parent.value))
            mark = event.start_mark
            if not stack and first_line == 0:
                first_line = mark.line + 1
            if kind is _ALIAS:
                value: Any = self._alias(event, parent, path)
                root = value if parent is None else root
                continue
            if kind is _SCALAR:
                size = len(event.value)
                self._spend(mark, 1, size)
                positions[path] = (mark.line + 1, mark.column + 1)
                value = self._scalar(event)
                if event.anchor is not None:
                    self.anchors[event.anchor] = (value, 1, size)
                if parent is None:
                    root = value
                else:
                    if parent.is_map:
                        parent.value[parent.key] = value  # type: ignore[call-overload,index]
                        parent.key = None
                    else:
                        parent.value.append(value)  # type: ignore[union-attr]
                    parent.nodes += 1
                    parent.chars += size
                continue
            self._spend(mark, 1, 0)
            positions[path] = (mark.line + 1, mark.column + 1)
            if len(stack) >= MAX_DEPTH:
                raise self._error(mark, f"nesting deeper than {MAX_DEPTH} levels; is it the right file?")
            if kind is _MAPPING_START:
                self._collection_tag(event, "tag:yaml.org,2002:map")
                frame = _Frame({}, path, event.anchor)
            elif kind is _SEQUENCE_START:
                self._collection_tag(event, "tag:yaml.org,2002:seq")
                frame = _Frame([], path, event.anchor)
            else:  # pragma: no cover - the parser only emits the events above inside a document
                raise self._error(mark, f"unexpected YAML event {kind.__name__}")
            self._attach(parent, frame.value, 0)
            root = frame.value if parent is None else root
            stack.append(frame)

    def _alias(self, event: Any, parent: _Frame | None, path: JsonPath) -> Any:
        """A copy of the anchored value, its nodes and characters spent again (the alias budget)."""
        mark = event.start_mark
        if event.anchor not in self.anchors:
            raise self._error(mark, f"unknown alias *{event.anchor}")
        shared, nodes, chars = self.anchors[event.anchor]
        self._spend(mark, nodes, chars)
        value = copy.deepcopy(shared)
        self.positions[path] = (mark.line + 1, mark.column + 1)
        self._attach(parent, value, nodes, chars)
        return value

    def _key(self, event: Any, kind: type, parent: _Frame) -> None:
        mark = event.start_mark
        if kind is not _SCALAR:
            raise self._error(mark, "mapping keys must be plain strings")
        # a key is the text as written: Kubernetes (and JSON) keys are strings, and a bare `1:` or `true:` is
        # almost always a mistake, so no plain key resolves to anything else
        key = event.value
        if not event.style and key == "<<":
            raise self._error(mark, "YAML merge keys ('<<') are not supported; write the keys out")
        if key in parent.value:
            first = self.positions.get((*parent.path, key), (0, 0))[0]
            raise self._error(mark, f"duplicate key {key!r} (first defined on line {first}); remove one of them",
                              "duplicate-key")
        self._spend(mark, 0, len(key))
        parent.chars += len(key)
        parent.key, parent.key_mark = key, mark
        self.key_positions[(*parent.path, key)] = (mark.line + 1, mark.column + 1)

    @staticmethod
    def _attach(parent: _Frame | None, value: Any, nodes: int, chars: int = 0) -> None:
        if parent is None:
            return
        if isinstance(parent.value, dict):
            assert parent.key is not None
            parent.value[parent.key] = value
            parent.key = None
        else:
            parent.value.append(value)
        parent.nodes += nodes
        parent.chars += chars


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


class _Unplaced(dict):  # type: ignore[type-arg]
    """Positions not kept (a large document read for its values only, such as a Helm repository's index)."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


def iter_documents(text: str, file: str, max_nodes: int = DEFAULT_MAX_NODES,
                   max_chars: int = DEFAULT_MAX_BYTES, positions: bool = True) -> Iterator[Document]:
    """Each document of a YAML stream, as a Document (an empty document's value is None). ``max_chars``: the
    characters of keys and scalars the stream may hold once aliases are expanded; ``positions``: whether to keep
    where each value is (a quarter of the memory without)."""
    loader = _BaseLoader(text)
    try:
        composer = _Composer(loader, file, max_nodes, max_chars)
        while not loader.check_event(yaml.StreamEndEvent):
            event = loader.get_event()
            if isinstance(event, yaml.DocumentStartEvent):
                composer.positions, composer.key_positions = ({}, {}) if positions else (_Unplaced(), _Unplaced())
                value, first = composer.document()
                yield Document(value, first or event.start_mark.line + 1, composer.positions, composer.key_positions)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line: int | None = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        if line is not None and _tab_line(text, line):
            problem += " (this line contains a tab: YAML indentation must use spaces)"
        raise YamlInputError(file, f"invalid YAML: {problem}", line, column) from None
    except yaml.YAMLError as exc:  # pragma: no cover - reader errors without marks
        raise YamlInputError(file, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def load_documents(data: bytes, file: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
                   max_nodes: int = DEFAULT_MAX_NODES, positions: bool = True, shared: bool = False,
                   ) -> list[Document]:
    """All non-empty documents of a file's bytes (empty documents are skipped). ``shared``: a file that differs from
    one read before in this process only by its leading comment lines (gen's header, which names the cluster) is not
    parsed again (``_Shared``); its documents are copies, the same values and positions a parse gives."""
    key = _SHARED.key(data, max_bytes, max_nodes, positions) if shared else None
    if key is not None:
        known = _SHARED.get(key)
        if known is not None:
            return known
    text = decode(data, file, max_bytes)
    docs = [doc for doc in iter_documents(text, file, max_nodes, max_bytes, positions) if doc.value is not None]
    if key is not None and _SHARED.put(key, docs):
        return _SHARED.copies(docs)  # (what is kept is never given out)
    return docs


def _copied(value: Any) -> Any:
    """A copy of a composed value (dicts, lists and scalars; nothing shared inside one: aliases are copies)."""
    kind = type(value)
    if kind is dict:
        return {k: _copied(v) for k, v in value.items()}
    if kind is list:
        return [_copied(v) for v in value]
    return value


def _nodes(value: Any) -> int | None:
    """How many values a composed value holds, aliases expanded (what it costs to keep and to copy); None when it
    nests deeper than ``MAX_DEPTH``."""
    count, todo = 0, [(value, 0)]
    while todo:
        value, depth = todo.pop()
        count += 1
        kind = type(value)
        if kind is dict or kind is list:
            if depth >= MAX_DEPTH:
                return None
            todo += [(v, depth + 1) for v in (value.values() if kind is dict else value)]
    return count


# leading comment lines a parse skips whole: '#', printable ASCII, a newline (no CR, NEL or other line break, no
# byte a decode or the scanner could refuse)
_COMMENT_LINES = re.compile(rb"(?:#[\x20-\x7e]*\n)*")

_SharedKey = tuple[int, int, bool, int, bytes]  # max_bytes, max_nodes, positions, comment lines, the rest


class _Shared:
    """Documents parsed in this process, by the bytes of their file after its leading comment lines and how many
    there were (so every position is the same), for ``load_documents(shared=True)``. A file's documents are a
    function of those bytes: a comment line of printable ASCII is one line the scanner skips, wherever it comes from.
    Only parses that succeeded are kept (an error names its file), and only of files met twice (a cluster's own
    files, met once, would only take room); copies are given out (callers may change what they get). Bounded:
    files up to ``MAX_FILE``, and about ``MAX_WEIGHT`` bytes of memory, weighed by the values held once aliases are
    expanded (a small file can alias its way to many) and the positions (about 256 bytes each; then it starts
    again); documents nested deeper than ``MAX_DEPTH`` through aliases are not kept."""

    MAX_FILE = 64 * 1024
    MAX_WEIGHT = 32 * 1024 * 1024
    MAX_MET = 100_000

    def __init__(self) -> None:
        self.docs: dict[_SharedKey, list[Document]] = {}
        self.met: set[int] = set()  # the hashes of the keys met once (a false match only keeps a file sooner)
        self.weight = 0

    def key(self, data: bytes, max_bytes: int, max_nodes: int, positions: bool) -> _SharedKey | None:
        if len(data) > min(max_bytes, self.MAX_FILE):
            return None  # too large to keep (or refused: decode says so)
        prefix = _COMMENT_LINES.match(data)
        end = prefix.end() if prefix is not None else 0
        return max_bytes, max_nodes, positions, data.count(b"\n", 0, end), data[end:]

    def get(self, key: _SharedKey) -> list[Document] | None:
        docs = self.docs.get(key)
        return self.copies(docs) if docs is not None else None

    def put(self, key: _SharedKey, docs: list[Document]) -> bool:
        """Keep ``docs`` if their file was met before; whether they were kept."""
        met = hash(key)
        if met not in self.met:
            if len(self.met) >= self.MAX_MET:
                self.met.clear()
            self.met.add(met)
            return False
        sizes = [_nodes(doc.value) for doc in docs]
        if None in sizes:
            return False  # deeper than a file may nest (aliases within aliases): parsed each time
        nodes = sum(n for n in sizes if n is not None)
        weight = 16 * len(key[4]) + 256 * (nodes + sum(len(doc.positions) + len(doc.key_positions) for doc in docs))
        if self.weight + weight > self.MAX_WEIGHT:
            self.docs.clear()
            self.weight = 0
        self.docs[key] = docs
        self.weight += weight
        return True

    @staticmethod
    def copies(docs: list[Document]) -> list[Document]:
        return [Document(_copied(doc.value), doc.line, doc.positions, doc.key_positions) for doc in docs]


_SHARED = _Shared()


def load_single(data: bytes, file: str, *, max_bytes: int = 1024 * 1024) -> Document:
    """Exactly one document (cluster specs)."""
    docs = load_documents(data, file, max_bytes=max_bytes, max_nodes=100_000)
    if not docs:
        raise YamlInputError(file, "file is empty; it must hold one YAML mapping")
    if len(docs) > 1:
        raise YamlInputError(file, f"holds {len(docs)} YAML documents; it must hold exactly one", docs[1].line)
    return docs[0]
