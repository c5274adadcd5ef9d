"""The questions of ``gen init``, the checks of their answers, and the template rendered with cookiecutter.

The template is ``template/`` beside this module (package data, in the wheel): ``cookiecutter.json`` holds the
questions, their defaults and the prompts; ``{{cookiecutter.__repo_dir}}/`` the files of the new repo. The choices
(modes, VM sizes) and the facts the files state (gen's version, the default network-operator release) are filled in
here from the cluster model and the catalog, never written in the template.

Cookiecutter's library is used step by step (``generate_context``, ``prompt_for_config``, ``generate_files``) rather
than through ``cookiecutter.main.cookiecutter``, because that one call
- reads the choices from cookiecutter.json only (an ``extra_context`` can reorder a list of choices, not set it), so
  the catalog's VM sizes would have to be copied into the template;
- prompts and renders in one go, so no answer could be checked between the two;
- always writes a replay file into the user's ``replay_dir`` (``~/.cookiecutter_replay``) and resolves the template
  through its repository machinery (``~/.cookiecutters``): ``gen init`` writes nothing but the new repo.
A cookiecutter user config given with ``--config-file`` is read for its ``default_context``, as cookiecutter reads it;
``~/.cookiecutterrc`` and ``$COOKIECUTTER_CONFIG`` are not read, so the same command makes the same repo everywhere.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import yaml

from generator import catalog, install_requirement
from generator.cluster import spec_schema as schema
from generator.cluster.model import MODES
from generator.cluster.parse import SpecError
from generator.core import layout
from generator.core.errors import InputError
from generator.core.fs import read_regular
from generator.pipeline.clusters import checked_cluster
from generator.yamlio.load import YamlInputError, load_single

# the questions, in the order they are asked, and the option of `gen init` that answers each
QUESTIONS = {"repo_url": "--repo-url", "cluster_name": "--cluster", "mode": "--mode", "vm_size": "--vm-size",
             "gen_package": "--gen-package"}
# gen_package's default is this gen's install requirement (generator.install_requirement), filled in at run time
FILLED_DEFAULTS = ("gen_package",)
MAX_REQUIREMENT = 500
# what a pip requirement written into a YAML double-quoted string and a single-quoted shell word may not hold
_UNSAFE = set("'\"\\`${}")
# credentials in a URL: user:password@ (any scheme), or a token@ in an http(s) one
_URL_CREDENTIALS = re.compile(r"://[^/@\s]*:[^/@\s]*@|(?:^|[+\s])https?://[^/@\s]+@")
# what gen fills in before the questions (the last one after them): private variables of cookiecutter.json
FILLED = ("_gen_version", "_network_operator_version", "_modes", "_vm_size_description")
SCHEMA_FILE = "schemas/cluster.schema.json"  # the spec's schema, for editors; the template's spec points at it
MAX_CONFIG_BYTES = 64 * 1024


@dataclass(frozen=True)
class Given:
    """An answer given before the questions, and where it comes from (what a message names)."""

    value: Any
    source: str


@contextlib.contextmanager
def template_dir() -> Iterator[Path]:
    """The cookiecutter template (a directory on disk, wherever the package is installed)."""
    with resources.as_file(resources.files("generator.init") / "template") as path:
        yield path


def gen_version() -> str:
    try:
        return metadata.version("rdma-gitops")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree that is not installed
        return "0.0.0"


def read_config(path: Path, shown: str) -> tuple[dict[str, Given], list[str]]:
    """The answers a cookiecutter user config file gives in ``default_context``, and a warning for each of its keys
    that is no question of gen init (such a file often serves other templates too). Its other settings
    (``cookiecutters_dir``, ``replay_dir``, ``abbreviations``) are for fetching and replaying templates: unused."""
    data = read_regular(path, MAX_CONFIG_BYTES, shown)
    try:
        doc = load_single(data, shown, max_bytes=MAX_CONFIG_BYTES)
    except YamlInputError as exc:
        raise InputError(exc.render()) from None
    if not isinstance(doc.value, dict):
        raise InputError(f"{shown}: must be a YAML mapping: a cookiecutter user config, with the answers under "
                         f"default_context ({', '.join(QUESTIONS)})")
    context = doc.value.get("default_context") or {}
    if not isinstance(context, dict):
        line, column = doc.position(("default_context",))
        raise InputError(f"{shown}:{line}:{column}: default_context: must be a mapping of answers "
                         f"({', '.join(QUESTIONS)})")
    given: dict[str, Given] = {}
    warnings = []
    for key, value in context.items():
        line, column = doc.position(("default_context", key))
        source = f"{shown}:{line}:{column}: default_context.{key}"
        if key in QUESTIONS:
            given[key] = Given(value, source)
        else:
            warnings.append(f"{source}: not a question of gen init ({', '.join(QUESTIONS)}); ignored")
    return given, warnings


# -- the answers, checked by the rules of a cluster spec ---------------------------------------------------------


def spec_value(answers: Mapping[str, Any], release: str) -> dict[str, Any]:
    """The fields of the spec the template writes, as the answers set them."""
    return {"name": answers["cluster_name"], "mode": answers["mode"], "vmSize": answers["vm_size"],
            "networkOperator": {"version": release}, "argocd": {"repoURL": answers["repo_url"]}}


def requirement_problem(value: str) -> str | None:
    """What is wrong with where gen is installed from (a pip requirement, written into the CI workflow and the README),
    or None."""
    if not value.strip():
        return (f"is empty; give the pip requirement CI installs gen from, e.g. {json.dumps(install_requirement())} "
                "(gen's source at a release tag), a wheel's path or URL, or rdma-gitops==VERSION on your own index")
    bad = sorted({c for c in value if c in _UNSAFE or not c.isprintable()})
    if bad or value != value.strip() or len(value) > MAX_REQUIREMENT:
        shown = ", ".join(repr(c) for c in bad) or "space at an end"
        return (f"{json.dumps(value)} holds {shown}: gen writes it into the CI workflow and the README's shell "
                f"command; give a pip requirement without quotes, backslashes, '$', '`', braces or control characters "
                f"(at most {MAX_REQUIREMENT} characters)")
    if value.startswith("-"):
        return f"{json.dumps(value)} starts with '-', which pip takes as an option; give a requirement"
    if _URL_CREDENTIALS.search(value):
        return (f"{json.dumps(value)} holds credentials, which would be committed in the CI workflow and the README; "
                "give the URL without them (CI gets them from its secrets, e.g. a git credential helper)")
    return None


def problem(key: str, value: Any) -> str | None:
    """What is wrong with one answer, or None: the cluster loader's rules for the field it sets, plus gen init's own
    (a VM size the catalog knows, an https or ssh repository URL, a pip requirement gen can be installed from)."""
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if key == "gen_package":
        return requirement_problem(value)
    cat = catalog.load()
    if key == "mode" and value not in MODES:
        return f"{json.dumps(value)} is not a mode; choose one of: {', '.join(MODES)}"
    if key == "vm_size" and value not in cat.vm_sizes:
        return (f"unknown VM size {json.dumps(value)}; choose one of: {', '.join(cat.vm_sizes)} (for another size, "
                "give the spec nic.count and nic.deviceIds after gen init)")
    if key == "repo_url":
        if "{" in value or "}" in value:
            return f"{json.dumps(value)} holds '{{' or '}}', which a Git URL never does (percent-encode them)"
        if value.lower().startswith("http://"):
            return (f"{json.dumps(value)}: plain http:// sends the repository (and any credentials Argo CD holds "
                    "for it) unencrypted; use https:// or ssh (ssh://host/path or git@host:path)")
    answers = {"repo_url": "https://example.com/gitops.git", "cluster_name": "prod", "mode": MODES[0],
               "vm_size": next(iter(cat.vm_sizes)), key: value}
    data = yaml.safe_dump(spec_value(answers, cat.default_release), sort_keys=False).encode()
    try:
        checked_cluster(data, layout.spec_file("answer"))
    except SpecError as exc:
        return exc.message
    return None


def check(answers: Mapping[str, Given]) -> None:
    """The first bad answer (in the order of the questions) as one InputError naming where it came from."""
    for key in QUESTIONS:
        given = answers[key]
        found = problem(key, given.value)
        if found is not None:
            raise InputError(f"{given.source}: {found}")


# -- cookiecutter: the questions, then the files ------------------------------------------------------------------


def _choices(first: str, known: Iterable[str]) -> list[str]:
    """A cookiecutter choice variable: its default (the given answer) first, then the others in their order."""
    return [first, *(choice for choice in known if choice != first)]


def ask(template: Path, config: Mapping[str, Given], options: Mapping[str, Given], *, no_input: bool,
        ) -> dict[str, Any]:
    """The answers: the template's defaults, overridden by ``config`` (the user config's default_context), then by
    ``options``, then (unless ``no_input``) by what the user answers on stdin to cookiecutter's prompts. Each is
    checked before anything is rendered: an answer given beforehand before the prompts, a typed one after them."""
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    cat = catalog.load()
    context = generate_context(context_file=str(template / "cookiecutter.json"),
                               default_context={key: g.value for key, g in config.items()},
                               extra_context={key: g.value for key, g in options.items()})
    values = context["cookiecutter"]
    for key in FILLED_DEFAULTS:  # a default gen knows at run time (unless the user config or an option gives one)
        if key not in config and key not in options:
            values[key] = install_requirement()
    defaults = {key: Given(values[key], f"the template's default {key}") for key in QUESTIONS}
    # checked before cookiecutter renders them (it renders a default as a Jinja template)
    check({**defaults, **config, **options})
    values["mode"] = _choices(values["mode"], MODES)
    values["vm_size"] = _choices(values["vm_size"], tuple(cat.vm_sizes))
    missing = [key for key in FILLED if key not in values]
    if missing:  # pragma: no cover - the template and this module disagree
        raise AssertionError(f"cookiecutter.json does not declare {missing}")
    values.update(_gen_version=gen_version(), _network_operator_version=cat.default_release,
                  _modes=" | ".join(MODES))
    try:
        answers: dict[str, Any] = dict(prompt_for_config(context, no_input))
    except EOFError:
        raise InputError("gen init: standard input ended before every question was answered; answer each on a "
                         "line of its own (an empty line takes the default), or pass --no-input") from None
    given = {**config, **options} if no_input else {}
    check({key: given.get(key, Given(answers[key], f"the answer to {key!r}")) for key in QUESTIONS})
    answers["_vm_size_description"] = cat.vm_sizes[answers["vm_size"]].description
    return answers


def render(template: Path, answers: Mapping[str, Any], into: Path) -> Path:
    """The new repo rendered into a new directory under ``into`` (with the cluster schema beside the template's
    files); returns that directory."""
    from cookiecutter.generate import generate_files

    project = Path(generate_files(repo_dir=str(template), context={"cookiecutter": dict(answers)},
                                  output_dir=str(into), overwrite_if_exists=False, accept_hooks=False,
                                  keep_project_on_failure=True))
    target = project / SCHEMA_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(schema.schema_text(), "utf-8")
    return project


def files(root: Path) -> list[str]:
    """Every file under ``root``, as sorted POSIX paths relative to it."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
