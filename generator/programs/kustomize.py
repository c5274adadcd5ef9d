"""Run the real kustomize (``kustomize build`` or ``kubectl kustomize``) on directories, in parallel."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.core.errors import ToolMissing, printable
from generator.core.fs import realpath
from generator.programs.kustomize_batch import Plain, batches, link_name, parent_kustomization, plain, split
from generator.programs.run import MAX_MEMORY_MIB, Program, Stopped, base_environment, run, text
from generator.yamlio.load import YamlInputError, load_documents

if TYPE_CHECKING:
    from generator.programs.kustomization import RootsRead

TIMEOUT_SECONDS = 120
# kustomize is a Go program that lives a tenth of a second: its garbage collector spent about as much CPU as the
# build (0.17 s of CPU for a 0.13 s mode overlay, on 2 cores). Off, with a memory limit that turns it back on near
# the limit, a build takes 0.09 s and 0.09 s of CPU for 25 MB more (measured on the benchmark fleet's overlays). The
# objects built are the same: the variables tune only the runtime's memory management. The limit bounds what a large
# build holds (3,000 objects, 6 MB: 137 MB as a shell runs it, 290 MB here, 529 MB with a 512 MiB limit); a mode
# overlay (~100 MB) never reaches it.
GO_RUNTIME = {"GOGC": "off", "GOMEMLIMIT": "256MiB"}


class KustomizeMissing(ToolMissing):
    """Neither kustomize nor kubectl can be run."""


@dataclass(frozen=True)
class BuildResult:
    directory: Path
    objects: list[dict[str, Any]]
    error: str  # "" when the build succeeded


KUSTOMIZE = Program("kustomize", "GEN_KUSTOMIZE", ("kubectl", "kustomize"),
                    (("kustomize", "build"), ("kubectl", "kustomize")), "install it or set GEN_KUSTOMIZE",
                    KustomizeMissing)


def kustomize_command() -> list[str]:
    """``$GEN_KUSTOMIZE``, else the venv's pinned kubectl, else ``kustomize build``, else ``kubectl kustomize``."""
    command = KUSTOMIZE.command()
    if command is None:
        raise KustomizeMissing("neither kustomize nor kubectl is on PATH; run scripts/setup.sh, install kubectl "
                               "(it has kustomize built in) or set GEN_KUSTOMIZE to the command, e.g. "
                               "'kustomize build'")
    return command


_KLOG = re.compile(r'^[EWIF]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] "command failed" err="(?P<err>(?:[^"\\]|\\.)*)"$')
MAX_MESSAGE = 2000


def error_message(stderr: str) -> str:
    """kustomize's whole error on one line: kubectl's log prefix and quoting and kustomize's ``Error:`` removed,
    lines joined, control characters escaped, at most ``MAX_MESSAGE`` characters."""
    parts = []
    for line in stderr.strip().splitlines():
        match = _KLOG.match(line.strip())
        if match:
            line = re.sub(r"\\(.)", r"\1", match["err"])
        line = re.sub(r"^(error|Error):\s*", "", line.strip())
        if line:
            parts.append(line)
    text = printable("; ".join(parts))
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def build(directory: Path, command: Sequence[str] | None = None) -> BuildResult:
    from generator.programs.kustomization import blocking_input

    cmd = [*(command or kustomize_command()), str(directory)]
    blocked = blocking_input(directory)
    if blocked is not None:
        return BuildResult(directory, [], blocked)
    proc = run(KUSTOMIZE, cmd, timeout=TIMEOUT_SECONDS, env=base_environment(**GO_RUNTIME),
               max_memory_mib=MAX_MEMORY_MIB)
    if isinstance(proc, Stopped):
        hint = ("; stopped: a resource that expands without bound (YAML aliases of aliases?) or a build too large "
                "for gen" if proc.memory else "")
        return BuildResult(directory, [], f"kustomize {proc.why}{hint}")
    if proc.returncode != 0:
        return BuildResult(directory, [], error_message(text(proc.stderr)) or f"kustomize exited {proc.returncode}")
    try:
        docs = load_documents(proc.stdout, f"kustomize build {directory}", max_bytes=64 * 1024 * 1024)
    except YamlInputError as exc:
        return BuildResult(directory, [], f"kustomize output does not parse: {exc}")
    return BuildResult(directory, [doc.value for doc in docs if isinstance(doc.value, dict)], "")


def build_many(directories: Sequence[Path], command: Sequence[str] | None = None,
               done: Callable[[], None] | None = None) -> list[BuildResult]:
    """Build several directories in parallel (each call costs 0.05 to 0.2 s of CPU: start-up, and the OpenAPI
    schema kustomize loads for a patch); ``done`` is called after each directory. Small plain directories are built
    several to a process (``kustomize_batch``), each with the objects its own build gives."""
    command = command or kustomize_command()
    workers = (os.cpu_count() or 2) * 2
    found = {i: p for i, d in enumerate(directories) if keyable_command(command) and (p := plain(d)) is not None}
    plains = list(found.values())
    indexes = list(found)
    units = [[indexes[i] for i in group] for group in batches(plains, workers)]
    batched = {i for unit in units for i in unit}
    units += [[i] for i in range(len(directories)) if i not in batched]

    def one(unit: list[int]) -> list[BuildResult]:
        results = (_build_batch([found[i] for i in unit], command) if len(unit) > 1 else None) \
            or [build(directories[i], command) for i in unit]
        if done is not None:
            for _ in unit:
                done()
        return results

    out: dict[int, BuildResult] = {}
    with ThreadPoolExecutor(max_workers=min(len(units), workers) or 1) as pool:
        for unit, results in zip(units, pool.map(one, units), strict=True):
            out.update(zip(unit, results, strict=True))
    return [out[i] for i in range(len(directories))]


def _build_batch(members: list[Plain], command: Sequence[str]) -> list[BuildResult] | None:
    """One kustomize process for the ``members`` (``kustomize_batch``), or None when its result cannot be used."""
    with tempfile.TemporaryDirectory(prefix="gen-batch-") as tmp:
        root = Path(tmp)
        for index, member in enumerate(members):
            os.symlink(realpath(member.directory), root / link_name(index))
        (root / "kustomization.yaml").write_bytes(parent_kustomization(len(members)))
        result = build(root, command)
    parts = split(result.objects, members) if not result.error else None
    if parts is None:
        return None
    return [BuildResult(member.directory, objects, "") for member, objects in zip(members, parts, strict=True)]


# Flags that let kustomize read what the trees of its roots do not hold (files outside a root, plugins and functions
# that run programs, the network): with any of them, nothing is cached.
_OPENING_FLAGS = ("--load-restrictor", "--enable-alpha-plugins", "--enable-exec", "--enable-star", "--mount",
                  "--network", "--env", "-e", "--as-current-user")
CACHE_VERSION = 2


def keyable_command(command: Sequence[str]) -> bool:
    """Whether ``command`` builds from the local trees of its roots only (none of ``_OPENING_FLAGS``)."""
    return not any(arg.split("=", 1)[0] in _OPENING_FLAGS for arg in command[1:])


def _strip_leading_comments(data: bytes) -> bytes:
    while data.startswith(b"#"):
        end = data.find(b"\n")
        data = b"" if end < 0 else data[end + 1:]
    return data


def inputs_key(directory: Path, command: Sequence[str], read: RootsRead | None = None,
               links: Sequence[tuple[Path, Path]] = ()) -> str | None:
    """The digest of everything ``kustomize build directory`` can read (``kustomization.build_inputs``: the trees of
    every kustomization root it reaches, paths relative to ``directory``; a YAML file's leading comments dropped when
    no kustomization reads files as data), or None when that cannot be known (``Unkeyable``). ``read`` and
    ``links``: as ``build_inputs``'s (``read`` shared by the directories keyed together)."""
    from generator.core.cache import digest, tool_key
    from generator.programs.kustomization import Unkeyable, build_inputs

    if not keyable_command(command):
        return None
    try:
        inputs = build_inputs(directory, directory, read=read, links=links)
    except (Unkeyable, OSError):
        return None
    return digest(tool_key(list(command)), *inputs.parts(_strip_leading_comments))


def _dirs_cache() -> Any:
    from generator.core.cache import DiskCache, cache_root

    return DiskCache(cache_root(), "kustomize-dirs", CACHE_VERSION)


def keep_builds(keys: Sequence[str | None], payload: bytes) -> None:
    """Keep one successful build (its objects as JSON) under the ``inputs_key`` of each directory that gave it (gen
    bundle's builds, for gen lint); None: a directory that cannot be keyed."""
    cache = _dirs_cache()
    for key in dict.fromkeys(k for k in keys if k is not None):
        cache.put(key, payload)


_KEYS: ContextVar[dict[Path, str | None] | None] = ContextVar("kustomize_keys", default=None)


@contextmanager
def keys_once(known: Mapping[Path, str | None] | None = None) -> Iterator[None]:
    """Within it, ``build_many_cached`` keys a directory once, or takes its key from ``known`` (``gen lint``: each
    part's builds keyed while the part is, every build made first, in one pool, then each part's builds taken from
    the cache by the same keys; a part kept only if nothing it read changed)."""
    token = _KEYS.set(dict(known or {}))
    try:
        yield
    finally:
        _KEYS.reset(token)


def build_missing(keys: Mapping[Path, str | None]) -> None:
    """Build, in one pool, each directory of ``keys`` (directory -> its ``inputs_key``) whose build gen's cache does
    not hold, one per key, and keep it as ``build_many_cached`` does (only if its key still holds after it). An
    entry is only looked for here, never read: the build is read where it is used (``build_many_cached``), and made
    there when the entry is not authentic. A directory that cannot be keyed is left to that too."""
    cache = _dirs_cache()
    todo = {key: directory for directory, key in keys.items() if key is not None and not cache.holds(key)}
    if todo:
        _built_and_kept(list(todo.values()), list(todo), kustomize_command(), cache, None)


def _built_and_kept(directories: Sequence[Path], keys: Sequence[str | None], command: Sequence[str], cache: Any,
                    done: Callable[[], None] | None) -> list[BuildResult]:
    """``build_many`` of ``directories``, each successful build kept under its key if what it read is still what the
    key was taken from (a file changed meanwhile: not kept)."""
    import json

    from generator.programs.kustomization import RootsRead

    built = build_many(directories, command, done)
    again = RootsRead()
    for directory, key, result in zip(directories, keys, built, strict=True):
        if key is not None and not result.error and inputs_key(directory, command, again) == key:
            cache.put(key, json.dumps(result.objects, separators=(",", ":")).encode("utf-8"))
    return built


def build_many_cached(directories: Sequence[Path], done: Callable[[], None] | None = None) -> list[BuildResult]:
    """``build_many``, with builds of the same inputs (``inputs_key``) shared and kept in gen's cache; failures are
    neither shared nor cached, nor a build whose inputs changed while it ran (keyed again after it)."""
    import json

    from generator.programs.kustomization import RootsRead

    command = kustomize_command()
    cache = _dirs_cache()
    read = RootsRead()
    known = _KEYS.get()
    keys = []
    for directory in directories:
        key = known[directory] if known is not None and directory in known else inputs_key(directory, command, read)
        keys.append(key)
        if known is not None:
            known[directory] = key
    results: dict[int, BuildResult] = {}
    first: dict[str, int] = {}
    todo: list[int] = []
    for index, key in enumerate(keys):
        hit = cache.get_json(key) if key else None
        if isinstance(hit, list):
            results[index] = BuildResult(directories[index], hit, "")
        elif key is None or key not in first:
            if key is not None:
                first[key] = index
            todo.append(index)
    built = _built_and_kept([directories[i] for i in todo], [keys[i] for i in todo], command, cache, done)
    results.update(zip(todo, built, strict=True))
    for index, key in enumerate(keys):
        if index not in results and key is not None:
            source = results[first[key]]
            if source.error:  # not shared: its own build
                results[index] = build(directories[index], command)
            else:
                results[index] = BuildResult(directories[index], json.loads(json.dumps(source.objects)), "")
    return [results[i] for i in range(len(directories))]

