"""The YAML writer: its fast writer (``dump._fast``) writes what PyYAML writes, byte for byte, or leaves it to it."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.yamlio import dump

# characters and words that change how PyYAML writes a scalar: indicators, quotes, escapes, breaks, spaces, tabs,
# non-ASCII, and the words a YAML 1.1 or 1.2 reader takes for another type
TRICKY = "aZ09 :-_./#'\"\\\n\t{}[],&*!|>%@`?=+~()$^;<é\u2028\x85\x00\ufeff"
WORDS = ["yes", "on", "No", "null", "~", "1e3", "0x1F", "0o17", "017", "1:20", "2024-01-01", ".inf", "-", "---", "...",
         "<<", "=", "", " a", "a ", "a:", "a: b", "a #b", "#a", "-a", "- a", "?a", "a\n", "a\n\n", "\na", " a\nb",
         "a \nb", "a\n b", "a\r\nb", "line one\nline two\n", "x" * 1200, "k" * 130, "1.5", "v25.4.0", "10.0.0.0/16",
         "nvcr.io/nvidia/mellanox", "rdma/rdma_shared_device_a", "{{ .name }}", "a  b", "a\tb",
         "---\nx\n", "a\n---\n", "a\n...\nb", "^;<>", "a\n#b\n", "x: |\n", "- a\n- b\n", "a\n\nb", "a\n  b\n"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.sampled_from(WORDS),
                    st.text(alphabet=TRICKY, max_size=12))
keys = st.one_of(st.sampled_from(WORDS), st.text(alphabet=TRICKY, max_size=8), st.integers())
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(keys, inner, max_size=4)), max_leaves=24)
# what the fast writer does write (most of it): Kubernetes-like names, words, paths and scripts, with a few of the words
# above among them
FRIENDLY = "abZ09 :-_./=+@,()\n"
friendly_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from(WORDS),
                             st.text(alphabet=FRIENDLY, max_size=16), st.text(alphabet=FRIENDLY, max_size=16),
                             st.text(alphabet=FRIENDLY, max_size=16))
friendly_keys = st.one_of(st.sampled_from(["name", "image", "a-b", "x.y/z", "0", "on", "a b"]),
                          st.text(alphabet="abZ09-_./", min_size=1, max_size=8))
friendly = st.recursive(friendly_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                 st.dictionaries(friendly_keys, inner, max_size=4)),
                        max_leaves=20)
documents = st.lists(st.one_of(st.dictionaries(keys, values, max_size=5), st.lists(values, max_size=4), values),
                     min_size=1, max_size=3)


def _pyyaml(docs: list[Any], header: str = "") -> bytes:
    return dump._dumped(docs, header)


@settings(max_examples=500, deadline=None)
@given(documents)
def test_the_fast_writer_writes_what_pyyaml_writes(docs: list[Any]) -> None:
    fast = dump._fast(docs)
    if fast is not None:
        assert fast.encode("utf-8") == _pyyaml(docs)
    assert dump.dump_documents(docs, "# head\n") == _pyyaml(docs, "# head\n")


@settings(max_examples=600, deadline=None)
@given(st.lists(st.one_of(st.dictionaries(friendly_keys, friendly, min_size=1, max_size=5),
                          st.lists(friendly, min_size=1, max_size=4)), min_size=1, max_size=3))
def test_what_the_fast_writer_writes(docs: list[Any]) -> None:
    fast = dump._fast(docs)
    if fast is not None:
        assert fast.encode("utf-8") == _pyyaml(docs)


def test_the_fast_writer_takes_what_gen_writes() -> None:
    """Objects as gen renders them: nested mappings and sequences, plain and quoted strings, literal blocks (with and
    without their last break), empty collections, integers and booleans; written by the fast writer, not PyYAML."""
    docs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "labels": {"a.b/c": "on", "n": "0"}},
         "data": {"script": "#!/bin/sh\nset -e\n\nexec ib_write_bw --report_gbits\n", "json": '{"a": 1}\n  b',
                  "empty": "", "list": "x, y"}},
        {"spec": {"tolerations": [{"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}],
                  "nested": [[1, 2], [], {}, [{"a": None}]], "flags": [True, False], "args": ["-c", "a=b", "x y"],
                  "resources": {"limits": {"rdma/rdma_shared_device_a": 1}}, "none": {}, "seq": []}},
    ]
    fast = dump._fast(docs)
    assert fast is not None
    assert fast.encode("utf-8") == _pyyaml(docs)
    assert yaml.safe_load_all(fast) is not None


def test_what_it_does_not_know_is_left_to_pyyaml() -> None:
    for doc in ({"a": 1.5}, {"a": "{{ .name }}"}, {"a": "a \nb"}, {"a": "\nb"}, {"a": "b\n\n"}, {"k" * 130: 1},
                {1: "a"}, {"a": "é"}, {"a": "x" * 1200}, {"a": (1, 2)}, "scalar", {}, []):
        assert dump._fast([doc]) is None, doc
        assert dump.dump_documents([doc]) == _pyyaml([doc])


def test_scalars_remembered_are_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(dump, "_MOST_WRITTEN", 10)
    monkeypatch.setattr(dump, "_WRITTEN", {})
    docs = [{f"key{i}": f"value{i}" for i in range(40)}]
    assert dump.dump_documents(docs) == _pyyaml(docs)
    assert len(dump._WRITTEN) <= 10


def test_every_ascii_character_in_every_place() -> None:
    """Each ASCII character (and a few others) alone, first, last and inside a key, a value and a literal block,
    and next to a space: the fast writer's bytes or PyYAML's, the same either way."""
    for code in [*range(128), 0x85, 0xA0, 0xE9, 0x2028, 0xFEFF]:
        c = chr(code)
        for text in (c, f"a{c}", f"{c}a", f"a{c}b", f"a {c}", f"{c} a", f"x\n{c}\n", f"x\n{c}", f"{c}\nx\n",
                     f"x\n {c}\n", f"{c}{c}{c}\n"):
            for doc in ({"k": text}, {text: 1} if "\n" not in text else {"k": [text]}, [text], {"k": {"j": [text]}}):
                fast = dump._fast([doc])
                if fast is not None:
                    assert fast.encode("utf-8") == _pyyaml([doc]), (code, text, doc)
