"""Docs contract: every command the README and the pages of docs/ show as runnable (``$ ...`` lines in console
blocks) is run here, in a copy of the repo, and must succeed; so the docs cannot drift from the tool. Commands that
need a real cluster are shown in text blocks; their offline forms are run instead. The README's "add your own
cluster" steps are followed, the example spec and error message are compared byte for byte, and every relative
link must resolve."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import GIT_ENV, REPO, SHARED, commit_all, git, run_gen_process

pytestmark = pytest.mark.slow  # whole-tool runs: not in make test-fast

README = REPO / "README.md"
DOCS = REPO / "docs"
USER_GUIDE = DOCS / "user-guide.md"
ARGOCD = DOCS / "argocd.md"
HELM = DOCS / "helm.md"
# `make test` is the command that runs this very test: it is checked to be what CI runs, not run again.
RUN_ELSEWHERE = {"make test": "the README's test command, run by .ci/run"}
# what the README's quick start says to type after `make bundle`; the docs' commands are written that way
ACTIVATE = "source .venv/bin/activate"
# sections that generated files and gen's own code name as "README, '...'": the README must lead to each
NAMED_SECTIONS = {"gen lint": "docs/lint.md", "Argo CD layout": "docs/argocd.md",
                  "CEL rules": "docs/lint.md#cel-rules-and-updates---against"}


def console_commands(page: Path) -> list[str]:
    blocks = re.findall(r"```console\n(.*?)```", page.read_text(), flags=re.S)
    return [line[2:].strip() for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def readme_commands() -> list[str]:
    return console_commands(README)


def doc_pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def test_readme_has_the_two_quick_start_commands() -> None:
    commands = readme_commands()
    assert commands[:2] == ["make bundle", "make test"]
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_readme_says_what_shared_is_and_that_gen_works_without_it() -> None:
    """Someone who cloned the repository alone learns what ../shared is, that gen works without it (downloading,
    sha256-locked), and what setup needs from the network."""
    text = README.read_text()
    section = re.sub(r"\s+", " ", text[text.index("## `../shared`\n"):].split("\n## ", 1)[0])
    for words in ("beside your clone", "not part of this repository", "the tests and CI read as an offline mirror",
                  "gen itself works without it", "downloading the schemas it needs", "sha256",
                  "Setup needs PyPI and npm"):
        assert words in section, words
    assert "../shared" in text.split("## `../shared`")[0]  # the quick start names it before the section says what it is


def test_the_docs_pages_run_commands_only_after_the_quick_start() -> None:
    """The quick start's commands are the README's alone; a page that repeated them would not be run as written."""
    for page in doc_pages():
        assert not set(console_commands(page)) & {"make bundle", "make test", ACTIVATE}, page.name


# The GitOps part of the checkout that the docs' commands start from: the committed example alone. Another spec a user
# added to clusters/ (with its output/ and overlays/) is not copied, so that it cannot break make test.
EXAMPLE = ("clusters/prod.yaml", "output/prod/", "output/fleet/")


def _example_or_not_gitops(rel: str) -> bool:
    if not rel.startswith(("clusters/", "output/", "overlays/")):
        return True
    return any(rel == part or (part.endswith("/") and rel.startswith(part)) for part in EXAMPLE)


def copy_checkout(top: Path) -> Path:
    """``top/repo``: this checkout's files (of clusters/, output/ and overlays/, the example's alone), with its set-up
    venv linked in (setup.sh never modifies a linked venv), and ``../shared`` beside it (``top/shared``), as on a
    fresh clone."""
    root = top / "repo"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        if (REPO / rel).is_file() and _example_or_not_gitops(rel):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, root / rel)
    (root / ".venv").symlink_to(REPO / ".venv")
    (top / "shared").symlink_to(SHARED)
    return root


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_checkout(tmp_path_factory.mktemp("readme"))


def offline_user_env(home: Path) -> dict[str, str]:
    """A new user's shell: an empty home and cache, no schema mirror in the environment, gen not on PATH, and
    no network (every proxy points at a closed port, so any download fails at once)."""
    keep = ("PATH", "LANG", "LC_ALL", "TERM", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    venv_bin = str(REPO / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    dead = "http://127.0.0.1:9"
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), http_proxy=dead, https_proxy=dead,
               HTTP_PROXY=dead, HTTPS_PROXY=dead, no_proxy="", NO_PROXY="", PIP_NO_INDEX="1")
    return env


def run_as_user(commands: list[str], cwd: Path, home: Path, extra_env: dict[str, str] | None = None,
                timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """``commands`` in order, in one shell as a new user types them (see offline_user_env); each must succeed."""
    script = ["set -u"]
    for i, command in enumerate(commands):
        script += [f"echo '>>> {i}' >&2", f"{command} || {{ echo '!!! failed: {i}' >&2; exit 1; }}"]
    env = {**offline_user_env(home), **(extra_env or {})}
    proc = subprocess.run(["bash", "-c", "\n".join(script)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    failed = re.search(r"!!! failed: (\d+)", proc.stderr)
    where = f"$ {commands[int(failed.group(1))]}" if failed else ""
    assert proc.returncode == 0, f"{where}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr
    return proc


@pytest.mark.kustomize
def test_readme_commands_run_as_written_offline(repo_copy: Path, tmp_path: Path) -> None:
    """Every command of the README, in order, in one shell as a new user types them: after the quick start,
    with no network, an empty home, and nothing on PATH but what the README says to do."""
    commands = [c for c in readme_commands() if c not in RUN_ELSEWHERE]
    assert ACTIVATE in commands
    run_as_user(commands, repo_copy, tmp_path / "home")
    assert str(REPO) in (REPO / ".venv" / "bin" / "gen").read_text().splitlines()[0]  # the venv is untouched


@pytest.fixture(scope="module")
def quick_started(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of the checkout after the README's quick start (`make bundle`, offline, as a new user), and the
    home whose cache it filled."""
    top = tmp_path_factory.mktemp("quick-start")
    root = copy_checkout(top)
    assert readme_commands()[0] == "make bundle"
    run_as_user(["make bundle"], root, top / "home")
    return root, top / "home"


def copy_quick_started(quick_started: tuple[Path, Path], top: Path) -> tuple[Path, Path]:
    """Its own copy of the quick-started repo and home in ``top`` (with ``../shared`` beside the repo)."""
    root, home = quick_started
    shutil.copytree(root, top / "repo", symlinks=True)
    shutil.copytree(home, top / "home", symlinks=True)
    (top / "shared").symlink_to(SHARED)
    return top / "repo", top / "home"


def shown_shell_lines(page: Path) -> list[str]:
    """The lines of the page's text blocks, with backslash continuations joined: commands shown, not run."""
    blocks = re.findall(r"```text\n(.*?)```", page.read_text(), flags=re.S)
    return [line.strip() for block in blocks for line in block.replace("\\\n", " ").splitlines()]


def helm_install_offline() -> str:
    """helm.md's `helm install rdma-infiniband ...` needs a cluster; `helm template` with its arguments does not."""
    shown = [line for line in shown_shell_lines(HELM) if line.startswith("helm install rdma-infiniband ")]
    assert len(shown) == 1, shown
    return re.sub(r"\s+", " ", shown[0].replace("helm install ", "helm template ", 1)) + " >/dev/null"


# Commands a page shows in text blocks (they need a cluster), run in the page's repo in an offline form after
# the page's own commands.
OFFLINE_FORMS = {"helm.md": [helm_install_offline]}


@pytest.mark.kustomize
@pytest.mark.parametrize("page", [p.name for p in doc_pages()])
def test_docs_page_commands_run_as_written_offline(page: str, quick_started: tuple[Path, Path],
                                                    tmp_path: Path) -> None:
    """Every command of a docs page, in order, in one shell as the README's quick start leaves a new user: in a
    copy of the repo after `make bundle`, with `source .venv/bin/activate` done, offline, gen's cache filled."""
    commands = [ACTIVATE, *console_commands(DOCS / page), *(form() for form in OFFLINE_FORMS.get(page, []))]
    root, home = copy_quick_started(quick_started, tmp_path)
    run_as_user(commands, root, home)


def readme_walkthrough() -> list[str]:
    """The first command of each numbered step of the README's "Add your own cluster"."""
    text = README.read_text()
    section = text[text.index("## Add your own cluster\n"):]
    section = section[:section.index("\n## ")]
    return re.findall(r"^\d\. [^`\n]*`([^`]+)`", section, flags=re.M)


@pytest.mark.kustomize
def test_readme_add_your_own_cluster_steps_work(quick_started: tuple[Path, Path], tmp_path: Path) -> None:
    """The five steps, followed in a git repo made from the quick-started copy: the new cluster's output is
    written, `gen check` passes with both specs, and the commit leaves nothing behind."""
    copy, edit, bundle, check, commit = readme_walkthrough()
    name_match = re.fullmatch(r"cp clusters/prod\.yaml clusters/([a-z0-9-]+)\.yaml", copy)
    assert name_match is not None, copy
    name = name_match.group(1)
    assert (edit, bundle, check) == (f"name: {name}", f"gen bundle --cluster {name}", "gen check")
    assert commit.startswith(f"git add clusters/{name}.yaml output/ && git commit "), commit
    root, home = copy_quick_started(quick_started, tmp_path)
    commit_all(root, "the repo after the quick start")
    run_as_user([copy], root, home)
    spec = root / "clusters" / f"{name}.yaml"
    # step 2, as the README says: its name, and a destination of its own
    text = spec.read_text().replace("name: prod\n", f"{edit}\n", 1)
    own = f"  targetRevision: main\n  destination:\n    name: {name}\n"
    spec.write_text(text.replace("  targetRevision: main\n", own, 1))
    run_as_user([ACTIVATE, bundle, check, commit], root, home, extra_env=GIT_ENV)
    assert (root / "output" / name / "argocd" / "application.yaml").is_file()
    assert f"network-operator-{name}" in (root / "output" / "fleet" / "bootstrap.yaml").read_text()
    assert git(root, "status", "--porcelain") == ""
    assert git(root, "rev-list", "--count", "HEAD").strip() == "2"


def test_docs_example_spec_is_the_committed_one() -> None:
    text = USER_GUIDE.read_text()
    example = re.search(r"This is the whole committed example:\n\n```yaml\n(.*?)```", text, flags=re.S)
    assert example is not None
    assert example.group(1) == (REPO / "clusters" / "prod.yaml").read_text()


def test_docs_error_message_is_what_gen_prints(tmp_path: Path) -> None:
    text = USER_GUIDE.read_text()
    shown = re.search(r"nothing is written \(here `mode: sriovv`\):\n\n```text\n(.*?)```", text, flags=re.S)
    assert shown is not None
    (tmp_path / "clusters").mkdir()
    spec = (REPO / "clusters" / "prod.yaml").read_text()
    (tmp_path / "clusters" / "prod.yaml").write_text(spec.replace("mode: sriov ", "mode: sriovv", 1))
    proc = run_gen_process("bundle", "--cluster", "prod", cwd=tmp_path)
    assert proc.code == 2 and proc.err == shown.group(1)


ARGO_CM = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
data:
  url: https://argo.example
"""


@pytest.mark.kustomize
def test_docs_cluster_commands_work_offline(tmp_path: Path) -> None:
    """The Argo CD page's kubectl commands need a cluster; their offline forms must succeed on the committed output."""
    from generator.programs.kustomize import kustomize_command

    text = ARGOCD.read_text()
    patch = ("kubectl -n argocd patch configmap argocd-cm --type merge "
             "--patch-file output/prod/argocd/argocd-cm-health.yaml")
    assert patch in text and "kubectl apply -k output/<name>/argocd" in text
    assert "kubectl apply -f output/fleet/bootstrap.yaml" in text
    kubectl = kustomize_command()[0]
    cm = tmp_path / "argocd-cm.yaml"
    cm.write_text(ARGO_CM)
    patched = subprocess.run([kubectl, "patch", "--local", "-f", str(cm), "--type", "merge", "--patch-file",
                              "output/prod/argocd/argocd-cm-health.yaml", "-o", "yaml"], cwd=REPO,
                             capture_output=True, text=True, timeout=60)
    assert patched.returncode == 0, patched.stderr
    assert "resource.customizations.health.mellanox.com_NicClusterPolicy" in patched.stdout
    assert "url: https://argo.example" in patched.stdout
    built = subprocess.run([*kustomize_command(), "output/prod/argocd"], cwd=REPO, capture_output=True, text=True,
                           timeout=60)
    assert built.returncode == 0, built.stderr
    assert "kind: AppProject" in built.stdout and "kind: Application" in built.stdout
    assert "kind: ApplicationSet" in (REPO / "output" / "fleet" / "bootstrap.yaml").read_text()


# -- links


def without_code(text: str) -> str:
    """The page without its fenced blocks and code spans (a link or heading there is not one)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def anchors(page: Path) -> set[str]:
    """The heading anchors of a Markdown page, as GitHub makes them (lower case, punctuation dropped, spaces to
    hyphens, repeats numbered)."""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def links(page: Path) -> list[str]:
    return re.findall(r"(?<!\\)\]\(([^)\s]+)\)", without_code(page.read_text()))  # not an escaped \](


@pytest.mark.parametrize("page", ["README.md", *(f"docs/{p.name}" for p in doc_pages())])
def test_relative_links_resolve(page: str) -> None:
    """Every relative link (files, images, headings) points at something that exists; ../shared is the mirror."""
    source = REPO / page
    broken = []
    for target in links(source):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        dest = (source.parent / path).resolve() if path else source
        if dest.is_relative_to(REPO.parent / "shared"):
            dest = SHARED / dest.relative_to(REPO.parent / "shared")
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not broken, f"{page}: " + "; ".join(broken)


def test_every_docs_page_is_reachable_from_the_readme() -> None:
    readme = set(links(README))
    index = {target.partition("#")[0] for target in links(DOCS / "index.md")}
    assert "docs/index.md" in readme
    for page in doc_pages():
        if page.name != "index.md":
            assert page.name in index, f"docs/index.md does not link {page.name}"
            assert any(t.partition("#")[0] == f"docs/{page.name}" for t in readme), f"README does not link {page.name}"


def test_sections_named_by_generated_files_are_reached_from_the_readme() -> None:
    """Generated files and gen's code say "see README, 'gen lint'" (and the like): the README links each by name."""
    text = README.read_text()
    for name, target in NAMED_SECTIONS.items():
        assert re.search(rf"\[[^\]]*{re.escape(name)}[^\]]*\]\({re.escape(target)}\)", text, flags=re.I), name
