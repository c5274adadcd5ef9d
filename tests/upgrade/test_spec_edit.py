"""The spec editor changes the fields it is asked to and no other line; a layout it cannot keep is refused."""

from __future__ import annotations

import difflib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.upgrade.spec_edit import Edit, SpecEditError, apply_edits, changed_lines
from generator.yamlio.load import load_single

VERSION = Edit(("networkOperator", "version"), "v25.10.0", after="vmSize", first=True)


def _diff(before: str, after: str) -> list[str]:
    return [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:2] in ("- ", "+ ")]


@pytest.mark.parametrize("text", [
    "name: prod\nvmSize: x\nnetworkOperator:\n  version: v25.4.0\n",
    "name: prod\nvmSize: x\nnetworkOperator:\n    version: \"v25.4.0\"    # pinned\n",
    "name: prod\nvmSize: x\nnetworkOperator: {version: 'v25.4.0'}\n",
    "# head\n\nname: prod   # n\nvmSize: x\ntolerations:\n  - key: a\n    value: b\nnetworkOperator:\n"
    "  version: v25.4.0\n\n# tail\n",
    "name: prod\nvmSize: x\ntolerations:\n- {key: a}\nnetworkOperator:\n  values:\n    operator: {tag: x}\n"
    "  version: v25.4.0\n",
])
def test_only_the_version_line_changes(text: str) -> None:
    out = apply_edits(text, [VERSION], "f.yaml")
    diff = _diff(text, out)
    assert len(diff) == 2 and all("v25.4.0" in d or "v25.10.0" in d for d in diff), diff
    assert changed_lines(text, out) == 1
    assert ("'v25.10.0'" in out) == ("'v25.4.0'" in text) and ('"v25.10.0"' in out) == ('"v25.4.0"' in text)


def test_a_missing_version_is_added_where_a_person_would_put_it() -> None:
    text = "name: prod\nmode: sriov\nvmSize: x\nargocd:\n  repoURL: https://x/y.git\n"
    out = apply_edits(text, [VERSION], "f.yaml")
    assert out == "name: prod\nmode: sriov\nvmSize: x\nnetworkOperator:\n  version: v25.10.0\nargocd:\n" \
                  "  repoURL: https://x/y.git\n"
    text = "name: prod\nnetworkOperator:\n  namespace: nvidia\n"
    assert apply_edits(text, [VERSION], "f.yaml") == "name: prod\nnetworkOperator:\n  version: v25.10.0\n" \
                                                       "  namespace: nvidia\n"


def test_rename_keeps_value_position_and_comment() -> None:
    text = "a:\n  b:\n    healthPort: 8082  # c\n    other: 1\n"
    out = apply_edits(text, [Edit(("a", "b", "healthPort"), rename_to="port")], "f.yaml")
    assert out.splitlines()[2].split() == ["port:", "8082", "#", "c"] and out.splitlines()[3] == "    other: 1"


def test_delete_prunes_the_mappings_it_empties() -> None:
    text = "name: x\nnetworkOperator:\n  version: v1\n  values:\n    a:\n      b: 1\n"
    out = apply_edits(text, [Edit(("networkOperator", "values", "a", "b"), delete=True)], "f.yaml")
    assert out == "name: x\nnetworkOperator:\n  version: v1\n"


@pytest.mark.parametrize("text", ["name:   prod\nvmSize: x\n", "name: prod\nvmSize: x\nlist: [ a,b ]\n"])
def test_a_layout_that_would_be_reformatted_is_refused(text: str) -> None:
    with pytest.raises(SpecEditError, match="without reformatting"):
        apply_edits(text, [VERSION], "f.yaml")


_comment = st.sampled_from(["", "  # a comment", "    # aligned"])
_quote = st.sampled_from(["{}", "'{}'", '"{}"'])
_seq = st.sampled_from(["- {{key: {k}}}\n", "  - key: {k}\n    effect: NoSchedule\n", "- key: {k}\n"])


@settings(max_examples=150, deadline=None)
@given(comments=st.lists(_comment, min_size=6, max_size=6), quote=_quote, seq=_seq,
       keys=st.lists(st.sampled_from(["sku", "gpu", "ib"]), min_size=1, max_size=3),
       version_first=st.booleans(), blank=st.booleans())
def test_property_only_edited_lines_change(comments: list[str], quote: str, seq: str, keys: list[str],
                                           version_first: bool, blank: bool) -> None:
    version = f"  version: {quote.format('v25.4.0')}{comments[3]}\n"
    namespace = f"  namespace: nvidia{comments[4]}\n"
    text = (f"name: prod{comments[0]}\n" + ("\n" if blank else "") + f"mode: ipoib{comments[1]}\n"
            f"vmSize: Standard_ND96asr_v4{comments[2]}\n" + "networkOperator:\n"
            + (version + namespace if version_first else namespace + version)
            + "tolerations:\n" + "".join(seq.format(k=k) for k in keys)
            + f"ipoib:\n  ipam: whereabouts{comments[5]}\n")
    out = apply_edits(text, [VERSION, Edit(("ipoib", "ipam"), "nv-ipam")], "f.yaml")
    assert changed_lines(text, out) == 2
    before, after = load_single(text.encode(), "f").value, load_single(out.encode(), "f").value
    before["networkOperator"]["version"], before["ipoib"]["ipam"] = "v25.10.0", "nv-ipam"
    assert after == before
