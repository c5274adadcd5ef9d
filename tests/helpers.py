"""Small helpers the tests share: gen's CLI run in this process, a cluster from spec text, the checks of one
object, the checks of bundles."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from generator.check.bundles import check_bundles
from generator.check.schema import check_schema
from generator.check.validators.kinds import schemas_for
from generator.cli.main import main as gen_main
from generator.cluster.model import Cluster
from generator.core import cache as gen_cache
from generator.core.finding import Finding
from generator.pipeline.clusters import checked_cluster
from generator.programs.overlays import build_overlays
from generator.render import Rendered
from generator.sources.schema_store import open_store
from tests.conftest import REPO, UPSTREAM, Result, spec_text

# -- gen's CLI in this process ----------------------------------------------------------------------------------
#
# ``run_gen`` calls generator.cli.main.main() as the console script does, without the ~0.3 s a new interpreter
# takes to start. Around each call:
#   - set for the run, put back afterwards: os.environ (``env``: the changes; None removes a variable), the working
#     directory (``cwd``), sys.stdin (``stdin``; empty: end of input at once), sys.stdout and sys.stderr (captured);
#   - put back afterwards, should gen change them: the umask and the handlers of SIGINT, SIGTERM, SIGHUP, SIGPIPE;
#   - empty for the run, as in a new process, and put back afterwards: what gen says once per process, the
#     refused-cache warning (generator.core.cache._refused). (What a command says once per run, such as the
#     missing-chart note, is kept by the run's own generator.pipeline.messages.Messages.)
# Kept for the pytest process: the functools caches of gen's own data (catalog, chart facts, templates, the lock)
# and of the schemas converted and compiled from digest-checked files (keyed on the store's root: a test that alters
# a mirror makes its own). They are keyed on all they are derived from, so a run gets the values a new process
# would derive; the one difference is that a new process also stores the YAML it parses in $GEN_CACHE_DIR
# (parsed-yaml/), which happens here once per pytest process, for the cache directory of that moment. Clearing them
# for every run made the CLI tests two thirds slower (every schema compiled again). Whatever gen reads once per
# interpreter from the environment (PYTHONHASHSEED, TZ, the locale and stream encodings, TMPDIR through tempfile,
# proxies through urllib's global opener) needs a real process: tests.conftest.run_gen_process.
# tests/cli/test_in_process.py runs invocations both ways and compares exit code, stdout and stderr.

_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGPIPE") if hasattr(signal, name))
_SAID_ONCE: tuple[set[Any], ...] = (gen_cache._refused,)


@contextlib.contextmanager
def _as_a_new_process(cwd: Path | None, env: Mapping[str, str | None] | None, stdin: str) -> Iterator[None]:
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_umask = os.umask(0o022)
    os.umask(saved_umask)
    saved_handlers = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    saved_said = [set(said) for said in _SAID_ONCE]
    saved_stdin = sys.stdin
    try:
        for said in _SAID_ONCE:
            said.clear()
        for key, value in (env or {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if cwd is not None:
            os.chdir(cwd)
        sys.stdin = io.StringIO(stdin)
        yield
    finally:
        sys.stdin = saved_stdin
        os.chdir(saved_cwd)
        for key in set(os.environ) - set(saved_env):
            del os.environ[key]
        for key, value in saved_env.items():
            if os.environ.get(key) != value:
                os.environ[key] = value
        os.umask(saved_umask)
        for sig, handler in saved_handlers.items():
            if signal.getsignal(sig) is not handler and handler is not None:
                signal.signal(sig, handler)
        for said, before in zip(_SAID_ONCE, saved_said, strict=True):
            said.clear()
            said.update(before)


def _exit_code(argv: list[str]) -> int:
    """main()'s exit code, or the one ``sys.exit`` would give the interpreter (argparse exits: usage errors 2,
    --help and --version 0)."""
    try:
        return gen_main(argv)
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1


def run_gen(*args: str, repo: Path | None = None, cwd: Path | None = None,
            env: Mapping[str, str | None] | None = None, stdin: str = "", check: bool = False) -> Result:
    """``gen ARGS`` in this process: ``--repo REPO`` first when ``repo`` is given; in ``cwd`` (put back afterwards)
    for what gen resolves against the working directory (gen lint's paths, gen init's DIR); ``env`` changes the
    environment for the run only. ``check``: fail the test unless it exits 0."""
    argv = [*(["--repo", str(repo)] if repo is not None else []), *args]
    out, err = io.StringIO(), io.StringIO()
    with _as_a_new_process(cwd, env, stdin), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = _exit_code(argv)
    result = Result(code, out.getvalue(), err.getvalue())
    if check and code != 0:
        raise AssertionError(f"gen {' '.join(argv)} exited {code}\n{result.out}\n{result.err}")
    return result


def kept_lint_parts(cache: Path) -> dict[str, Any]:
    """The parts ``gen lint output/`` kept in the cache at ``cache`` (``lint_verdicts.keep_parts``): each part's JSON
    by its key's digest, from every entry (read as written, without checking who wrote it)."""
    import json

    parts: dict[str, Any] = {}
    for entry in sorted((cache / "lint-parts").rglob("*")):
        if entry.is_file():
            parts.update(json.loads(entry.read_bytes().split(b"\n", 1)[1]))
    return parts


def example_repo(root: Path) -> Path:
    """``root`` as a GitOps repo of the committed example alone: clusters/prod.yaml, and the output gen generates
    from it. Never the working tree's other specs or output: a user who adds a cluster must not break a test."""
    (root / "clusters").mkdir(parents=True, exist_ok=True)
    (root / "clusters" / "prod.yaml").write_bytes((REPO / "clusters" / "prod.yaml").read_bytes())
    run_gen("bundle", "--cluster", "prod", repo=root, check=True)
    return root


# -- clusters, findings, bundles --------------------------------------------------------------------------------


def make_cluster(name: str = "prod", mode: str = "sriov", extra: str = "", version: str = "v25.4.0",
                 vm_size: str = "Standard_ND96asr_v4") -> Cluster:
    return checked_cluster(spec_text(name=name, mode=mode, version=version, vm_size=vm_size, extra=extra).encode(),
                         f"clusters/{name}.yaml", expected_name=name)


def schema_findings(obj: Any, release: str, argocd: str | None = None) -> list[Finding]:
    """The strict-schema findings of one object (offline store)."""
    return check_schema(obj, schemas_for(release, argocd, open_store(UPSTREAM)))


def errors(findings: list[Finding]) -> list[tuple[str, str]]:
    """(dotted path, message) of the errors."""
    return [(f.dotted_path, f.message) for f in findings if f.severity == "error"]


def bundle_findings(repo: Path, rendered: Rendered) -> list[Finding]:
    """What gen bundle checks: every overlay built with the real kustomize, everything checked."""
    builds = build_overlays(repo, [bundle for _, bundle in rendered.clusters])
    return check_bundles(repo, rendered.clusters, rendered.fleet, builds, open_store(UPSTREAM))


def assert_golden(directory: Path, files: Mapping[str, bytes], shown: str = "") -> None:
    """``files`` (path -> bytes) are exactly the golden files under ``directory``; with ``GEN_UPDATE_GOLDEN`` set, they
    become them first (review the diff). ``shown`` prefixes the path in a failure."""
    if os.environ.get("GEN_UPDATE_GOLDEN"):
        shutil.rmtree(directory, ignore_errors=True)
        for rel, data in files.items():
            (directory / rel).parent.mkdir(parents=True, exist_ok=True)
            (directory / rel).write_bytes(data)
    on_disk = {p.relative_to(directory).as_posix(): p.read_bytes() for p in directory.rglob("*") if p.is_file()}
    assert sorted(on_disk) == sorted(files), "file set changed; rerun with GEN_UPDATE_GOLDEN=1 and review"
    for rel, data in files.items():
        assert data == on_disk[rel], f"{shown}{rel} differs; rerun with GEN_UPDATE_GOLDEN=1 and review the diff"
