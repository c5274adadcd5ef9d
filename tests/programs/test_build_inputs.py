"""What a kustomize build is keyed by (``kustomization.build_inputs``): the whole tree of every kustomization root it
reaches, and never a key at all for what cannot be keyed that way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.programs import kustomization
from generator.programs.kustomization import Unkeyable, build_inputs
from generator.programs.kustomize import inputs_key, keyable_command

COMPONENT = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _key(root: Path) -> list[bytes | str]:
    return build_inputs(root / "overlay", root).parts()


def test_every_file_of_every_root_counts_named_or_not(tmp_path: Path) -> None:
    _tree(tmp_path, {"overlay/kustomization.yaml": COMPONENT + "components:\n- ../common\n",
                     "overlay/notes/anything.txt": "a", "common/kustomization.yaml": COMPONENT,
                     "common/deep/x.yaml": "x: 1\n", "unrelated/y.yaml": "y: 1\n"})
    shown = [entry[0] for entry in build_inputs(tmp_path / "overlay", tmp_path).files]
    assert shown == ["common/deep", "common/deep/x.yaml", "common/kustomization.yaml", "overlay/kustomization.yaml",
                     "overlay/notes", "overlay/notes/anything.txt"]
    before = _key(tmp_path)
    for rel in ("overlay/notes/anything.txt", "common/deep/x.yaml"):
        (tmp_path / rel).write_text("changed")
        assert _key(tmp_path) != before
        before = _key(tmp_path)
    (tmp_path / "unrelated/y.yaml").write_text("y: 2\n")  # no root reaches it
    assert _key(tmp_path) == before


def test_a_link_counts_by_its_target(tmp_path: Path) -> None:
    _tree(tmp_path, {"overlay/kustomization.yaml": COMPONENT + "patches:\n- path: p.yaml\n",
                     "overlay/a.yaml": "a", "overlay/b.yaml": "a"})
    (tmp_path / "overlay/p.yaml").symlink_to("a.yaml")
    before = _key(tmp_path)
    (tmp_path / "overlay/p.yaml").unlink()
    (tmp_path / "overlay/p.yaml").symlink_to("b.yaml")  # the same bytes, through another file
    assert _key(tmp_path) != before


@pytest.mark.parametrize(("kustomization", "why"), [
    ("resources:\n- https://example.com/x.yaml\n", "a remote file or base"),
    ("resources:\n- github.com/org/repo//base?ref=v1\n", "a remote file or base"),
    ("components:\n- git@github.com:org/repo.git\n", "a remote file or base"),
    ("patches:\n- path: https://example.com/p.yaml\n", "a remote file or base"),
    ("openapi:\n  path: http://example.com/schema.json\n", "a remote file or base"),
    ("configMapGenerator:\n- name: x\n  files: [k=https://example.com/f]\n", "a remote file or base"),
    ("helmCharts:\n- name: x\n  repo: https://charts.example.com\n", "runs helm"),
    ("transformers:\n- t.yaml\n", "not one of kustomize's builtins"),
    ("generators:\n- |-\n  apiVersion: builtin\n  kind: HelmChartInflationGenerator\n  metadata: {name: x}\n",
     "not one of kustomize's builtins"),
    ("transformers:\n- |-\n  apiVersion: builtin\n  kind: PatchTransformer\n  metadata: {name: x}\n"
     "  path: https://example.com/p.yaml\n", "names a remote file"),
    ("transformers:\n- sub\n", "configurations built by kustomize"),
    ("someNewField: 1\n", "is not one kustomize v5.6 knows"),
])
def test_what_cannot_be_keyed_is_never_keyed(tmp_path: Path, kustomization: str, why: str) -> None:
    _tree(tmp_path, {"overlay/kustomization.yaml": COMPONENT + kustomization, "overlay/sub/kustomization.yaml": "",
                     "overlay/t.yaml": "apiVersion: example.com/v1\nkind: MyPlugin\nmetadata: {name: x}\n"})
    with pytest.raises(Unkeyable, match=why):
        build_inputs(tmp_path / "overlay", tmp_path)
    assert inputs_key(tmp_path / "overlay", ["kubectl", "kustomize"]) is None


def test_a_fifo_a_tree_past_the_bounds_or_a_root_in_output_is_never_keyed(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path, {"overlay/kustomization.yaml": COMPONENT + "resources:\n- ../output/b\n",
                     "output/b/kustomization.yaml": "", "output/b/1.yaml": "", "output/b/2.yaml": ""})
    build_inputs(tmp_path / "overlay", tmp_path)
    with pytest.raises(Unkeyable, match="a kustomization in output"):
        build_inputs(tmp_path / "overlay", tmp_path, outside=tmp_path / "output")
    monkeypatch.setattr(kustomization, "MAX_TREE_FILES", 3)
    with pytest.raises(Unkeyable, match="more than 3 files"):
        build_inputs(tmp_path / "overlay", tmp_path)
    monkeypatch.undo()
    os.mkfifo(tmp_path / "overlay" / "pipe")
    with pytest.raises(Unkeyable, match="not a regular file"):
        build_inputs(tmp_path / "overlay", tmp_path)


def test_flags_that_widen_what_kustomize_reads_turn_the_cache_off() -> None:
    assert keyable_command(["kubectl", "kustomize"]) and keyable_command(["kustomize", "build", "--enable-helm"])
    for flag in ("--load-restrictor=LoadRestrictionsNone", "--enable-alpha-plugins", "--enable-exec", "--network",
                 "--mount=type=bind,src=/,dst=/x", "-e"):
        assert not keyable_command(["kubectl", "kustomize", flag])


def test_each_path_is_relative_to_the_base_also_through_a_root_that_holds_it(tmp_path: Path) -> None:
    """A root above the base (``resources: [..]``), beside it and below it: every entry at its path from the base,
    the base's own folder as ``.``, each once."""
    _tree(tmp_path, {"a/b/kustomization.yaml": "resources:\n- ..\n- ../../c\n- d\n", "a/b/x.yaml": "kind: X\n",
                     "a/b/d/kustomization.yaml": "resources: []\n", "a/kustomization.yaml": "resources:\n- y.yaml\n",
                     "a/y.yaml": "kind: Y\n", "c/kustomization.yaml": "resources: []\n"})
    got = [(shown, kind) for shown, kind, _ in build_inputs(tmp_path / "a/b", tmp_path / "a/b").files]
    assert got == [(".", "dir"), ("../../c/kustomization.yaml", "file"), ("../kustomization.yaml", "file"),
                   ("../y.yaml", "file"), ("d", "dir"), ("d/kustomization.yaml", "file"),
                   ("kustomization.yaml", "file"), ("x.yaml", "file")]


def test_roots_read_once_for_several_directories_give_each_what_it_reads_alone(tmp_path: Path) -> None:
    """``read`` shares the roots read for one directory with the next (the overlays of a cluster reach one base):
    each directory's inputs, and whether it can be keyed at all, are the ones it has keyed alone, whatever the base
    and whichever directory came first."""
    _tree(tmp_path, {
        "base/kustomization.yaml": "resources:\n- ns.yaml\n", "base/ns.yaml": "kind: Namespace\n",
        "o1/kustomization.yaml": "resources:\n- ../base\n", "o1/p.yaml": "kind: P\n",
        "o2/kustomization.yaml": "resources:\n- ../base\n- ../o1\n- sub\n", "o2/sub/kustomization.yaml": "",
        "o3/kustomization.yaml": "resources:\n- ..\n",  # the root above holds every other: walked through o3
        "bad/kustomization.yaml": "resources:\n- ../base\n- https://example.com/x.yaml\n",
        "kustomization.yaml": "resources:\n- base\n"})
    (tmp_path / "o2/linked").symlink_to("../o1", target_is_directory=True)

    def alone(directory: Path, base: Path) -> object:
        try:
            inputs = build_inputs(directory, base)
        except Unkeyable:
            return "unkeyable"
        return inputs.files, inputs.as_data

    dirs = [tmp_path / d for d in ("bad", "o3", "o2", "o1", "base", ".")]
    for order in (dirs, dirs[::-1]):
        for base_of in (lambda d: d, lambda d: tmp_path, lambda d: tmp_path.parent):
            read = kustomization.RootsRead()
            for directory in order:
                try:
                    inputs = build_inputs(directory, base_of(directory), read=read)
                    shared: object = (inputs.files, inputs.as_data)
                except Unkeyable:
                    shared = "unkeyable"
                assert shared == alone(directory, base_of(directory)), directory


def test_roots_read_hold_no_more_than_one_tree_may(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``read`` keeps is bounded as one build's trees are (``MAX_TREE_BYTES``): keying many large trees together
    holds no more than keying one; a root past the bound is read again, and keyed the same."""
    for name in ("a", "b", "c"):
        _tree(tmp_path, {f"{name}/kustomization.yaml": "resources:\n- ../base\n", f"{name}/big.txt": "x" * 600})
    _tree(tmp_path, {"base/kustomization.yaml": "resources: []\n", "base/small.txt": "y"})
    monkeypatch.setattr(kustomization, "MAX_TREE_BYTES", 1000)
    read = kustomization.RootsRead()
    keyed = [build_inputs(tmp_path / name, tmp_path, read=read) for name in ("a", "b", "c")]
    assert read.held <= 1000 and tmp_path / "a" in read.roots and tmp_path / "b" not in read.roots
    assert [k.files for k in keyed] == [build_inputs(tmp_path / name, tmp_path).files for name in ("a", "b", "c")]


def test_a_root_reached_through_a_staged_link_is_shown_where_the_repository_has_it(tmp_path: Path) -> None:
    """gen bundle builds a staged copy of output/ whose other folders are links to the repository's: through
    ``links`` a user overlay there is keyed as gen lint keys it in the repository once output/ is written. Other
    content is another key; so is a user overlay that reaches back into output/ (the staged build reads the
    repository's output/ then, not the staged one)."""
    command = ["kubectl", "kustomize"]
    m = "output/x/overlays/m"
    overlay = {f"{m}/kustomization.yaml": "resources:\n- cm.yaml\ncomponents:\n- ../../../../overlays/x\n",
               f"{m}/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
               "output/x/c/kustomization.yaml": COMPONENT}
    repo = _tree(tmp_path / "repo", {**overlay, "overlays/x/kustomization.yaml": COMPONENT})
    stage = _tree(tmp_path / "stage", overlay)
    (stage / "overlays").symlink_to(repo / "overlays")
    links = [(stage / "overlays", repo / "overlays")]
    written = inputs_key(repo / m, command)
    assert written is not None and inputs_key(stage / m, command, links=links) == written
    assert inputs_key(stage / m, command) not in (written, None)  # shown as where it really is
    (repo / "overlays/x/kustomization.yaml").write_text(COMPONENT + "components:\n- ../../output/x/c\n")
    assert inputs_key(stage / m, command, links=links) not in (inputs_key(repo / m, command), None)
    (repo / "overlays/x/kustomization.yaml").write_text(COMPONENT)
    (stage / m / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n")
    assert inputs_key(stage / m, command, links=links) != written
