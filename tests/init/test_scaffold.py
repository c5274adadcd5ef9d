"""gen init's template and answers: what the template declares, where the choices come from, and every answer checked
by the cluster loader's rules."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from generator import catalog, install_requirement, project_version
from generator.cluster.model import MODES
from generator.core.errors import InputError
from generator.init import scaffold
from tests.conftest import REPO

TEMPLATE = REPO / "generator" / "init" / "template"
PROJECT = TEMPLATE / "{{cookiecutter.__repo_dir}}"


def _declared() -> dict[str, object]:
    declared: dict[str, object] = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    return declared


def test_the_template_asks_the_five_questions_in_order_with_a_prompt_each() -> None:
    declared = _declared()
    questions = [key for key in declared if not key.startswith("_")]
    assert questions == list(scaffold.QUESTIONS)
    prompts = declared["__prompts__"]
    assert isinstance(prompts, dict) and set(prompts) == set(scaffold.QUESTIONS)
    assert set(scaffold.FILLED) <= set(declared)


def test_the_choices_are_not_written_in_the_template() -> None:
    """Modes and VM sizes come from the cluster model and the catalog at run time; the template holds a default."""
    declared = _declared()
    assert all(isinstance(declared[key], str) for key in scaffold.QUESTIONS)
    for path in PROJECT.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "Standard_HB120rs_v3" not in text and "base | sriov" not in text, path
            assert "v25.4.0" not in text, path  # the release comes from the catalog too


def test_the_template_defaults_are_valid_answers() -> None:
    declared = _declared()
    for key in scaffold.QUESTIONS:
        if key in scaffold.FILLED_DEFAULTS:  # gen fills it in at run time
            assert declared[key] == ""
            continue
        assert scaffold.problem(key, declared[key]) is None, key


def test_gen_is_installed_from_where_it_comes_from_never_a_package_index_that_lacks_it() -> None:
    """The default requirement: this gen's source at its release tag (no index publishes rdma-gitops)."""
    source = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]["Source"]
    assert install_requirement() == f"git+{source}@v{project_version()}"
    assert scaffold.problem("gen_package", install_requirement()) is None
    for path in PROJECT.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "rdma-gitops=={{" not in text, path  # the version pinned on an index that has no such package
    workflow = (PROJECT / ".github" / "workflows" / "gen.yaml").read_text()
    assert 'GEN_PACKAGE: "{{ cookiecutter.gen_package }}"' in workflow
    assert "python3 -m pip install '{{ cookiecutter.gen_package }}'" in (PROJECT / "README.md").read_text()


def test_the_hooks_are_the_published_ones_run_from_path() -> None:
    published = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    config = yaml.safe_load((PROJECT / ".pre-commit-config.yaml").read_text())
    [repo] = config["repos"]
    assert repo["repo"] == "local"
    hooks = {h["id"]: h for h in repo["hooks"]}
    assert set(hooks) == set(published)
    for hook_id, hook in hooks.items():
        assert hook["language"] == "system"
        assert {**hook, "language": "python"} == published[hook_id]


def test_the_ci_workflow_pins_what_this_project_is_tested_with() -> None:
    declared = _declared()
    setup = (REPO / "scripts" / "setup.sh").read_text()
    pinned = re.search(r"kubectl (v\d+\.\d+\.\d+)", setup)
    assert pinned and declared["_kubectl_version"] == pinned.group(1)
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == f">={declared['_python_version']}"
    workflow = (PROJECT / ".github" / "workflows" / "gen.yaml").read_text()
    assert "${{" not in workflow  # GitHub expressions would clash with Jinja: the workflow uses shell variables


@pytest.mark.parametrize(("key", "value", "words"), [
    ("cluster_name", "Prod", "does not match the required form"),
    ("cluster_name", "fleet", "is reserved for output/fleet/"),
    ("cluster_name", "a" * 41, "longer than 40 characters"),
    ("cluster_name", 12, "must be a string, not int"),
    ("mode", "sriovv", "choose one of: base, sriov, shared, ipoib"),
    ("vm_size", "Standard_D4s_v5", "unknown VM size"),
    ("repo_url", "http://git.example.com/gitops.git", "use https:// or ssh"),
    ("repo_url", "https://user:secret@example.com/gitops.git", "holds credentials"),
    ("repo_url", "https://token@example.com/gitops.git", "holds credentials"),
    ("repo_url", "ftp://example.com/gitops.git", "does not match the required form"),
    ("repo_url", "https://example.com/git ops.git", "does not match the required form"),
    ("repo_url", "https://example.com/{{ 7 * 7 }}.git", "holds '{' or '}'"),
    ("gen_package", "", "is empty; give the pip requirement"),
    ("gen_package", "-r requirements.txt", "starts with '-'"),
    ("gen_package", "git+https://u:token@git.example.com/rdma-gitops@v0.1.0", "holds credentials"),
    ("gen_package", "git+https://token@git.example.com/rdma-gitops@v0.1.0", "holds credentials"),
    ("gen_package", "rdma-gitops==0.1.0' && curl x | sh '", "holds"),
    ("gen_package", 'x"y', "holds '\"'"),
    ("gen_package", "git+https://x/y@$(id)", "holds '$'"),
    ("gen_package", "a\nb", "holds '\\n'"),
    ("gen_package", " rdma-gitops", "space at an end"),
])
def test_a_bad_answer_says_what_is_wrong(key: str, value: object, words: str) -> None:
    found = scaffold.problem(key, value)
    assert found is not None and words in found


@pytest.mark.parametrize(("key", "value"), [
    ("repo_url", "https://github.com/example/aks-gitops.git"),
    ("repo_url", "ssh://git@example.com/gitops.git"),
    ("repo_url", "git@github.com:example/gitops.git"),
    ("cluster_name", "gpu-1"),
    ("gen_package", "git+https://github.com/example/rdma-gitops@v0.1.0"),
    ("gen_package", "git+ssh://git@git.example.com/mirror/rdma-gitops.git@v0.1.0"),
    ("gen_package", "rdma-gitops==0.1.0"),
    ("gen_package", "rdma-gitops @ https://files.example.com/rdma_gitops-0.1.0-py3-none-any.whl"),
    ("gen_package", "./dist/rdma_gitops-0.1.0-py3-none-any.whl"),
    *(("mode", mode) for mode in MODES),
    *(("vm_size", size) for size in catalog.load().vm_sizes if catalog.load().vm_sizes[size].arch == "amd64"),
])
def test_a_good_answer_passes(key: str, value: str) -> None:
    assert scaffold.problem(key, value) is None


@pytest.mark.parametrize("size", [s for s, vm in catalog.load().vm_sizes.items() if vm.arch == "arm64"])
def test_an_arm64_size_passes_where_the_default_release_runs_on_it(size: str) -> None:
    """gen init writes the default release: the Grace sizes need one whose DOCA driver builds on AKS's arm64 image."""
    cat = catalog.load()
    default = cat.release(cat.default_release)
    arm64 = cat.platforms["ubuntu24.04-arm64"]
    problem = scaffold.problem("vm_size", size)
    if cat.runs_driver(default, arm64):
        assert problem is None
    else:
        assert problem is not None and "set networkOperator.version to v26.1.2" in problem


def test_check_names_the_first_bad_answer_and_where_it_came_from() -> None:
    answers = {key: scaffold.Given(value, f"from {key}") for key, value in
               {"repo_url": "https://example.com/g.git", "cluster_name": "Bad", "mode": "nope",
                "vm_size": "Standard_ND96asr_v4", "gen_package": "rdma-gitops==0.1.0"}.items()}
    with pytest.raises(InputError, match=r"^from cluster_name: \"Bad\" does not match"):
        scaffold.check(answers)


def test_a_config_file_gives_answers_and_warns_about_other_keys(tmp_path: Path) -> None:
    config = tmp_path / "cc.yaml"
    config.write_text("cookiecutters_dir: /elsewhere\ndefault_context:\n  full_name: Me\n  cluster_name: eu-1\n")
    given, warnings = scaffold.read_config(config, "cc.yaml")
    assert given == {"cluster_name": scaffold.Given("eu-1", "cc.yaml:4:17: default_context.cluster_name")}
    assert warnings == ["cc.yaml:3:14: default_context.full_name: not a question of gen init (repo_url, "
                        "cluster_name, mode, vm_size, gen_package); ignored"]


@pytest.mark.parametrize(("text", "words"), [
    ("- a\n", "must be a YAML mapping"),
    ("default_context: [a]\n", "cc.yaml:1:18: default_context: must be a mapping"),
    ("default_context:\n  mode: a\n  mode: b\n", "cc.yaml:3:3"),
])
def test_a_bad_config_file_is_one_message(tmp_path: Path, text: str, words: str) -> None:
    config = tmp_path / "cc.yaml"
    config.write_text(text)
    with pytest.raises(InputError, match=re.escape(words)):
        scaffold.read_config(config, "cc.yaml")
