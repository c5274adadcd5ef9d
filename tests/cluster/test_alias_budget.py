"""The YAML loader's alias budget counts what an alias repeats, in characters as well as in nodes: a document may
not expand past the size its file may have, however its aliases are arranged."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.yamlio.load import YamlInputError, load_documents


def _doc(length: int, copies: int, nested: bool) -> bytes:
    value = "x" * length
    anchor = f"a: &v [{value}]\n" if nested else f"a: &v {value}\n"
    return (anchor + "".join(f"k{i}: *v\n" for i in range(copies))).encode()


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5000), st.integers(0, 400), st.booleans(), st.integers(1000, 200_000))
def test_expanded_characters_stay_within_the_limit(length: int, copies: int, nested: bool, limit: int) -> None:
    data = _doc(length, copies, nested)
    expanded = (copies + 1) * length + 1 + sum(len(f"k{i}") for i in range(copies))
    if len(data) > limit:
        return
    try:
        [doc] = load_documents(data, "f.yaml", max_bytes=limit)
    except YamlInputError as exc:
        assert exc.kind == "too-large" and expanded > limit
    else:
        assert expanded <= limit and len(doc.value) == copies + 1


def test_one_long_string_aliased_two_thousand_times_is_refused_at_its_line() -> None:
    data = _doc(100_000, 2000, False)
    with pytest.raises(YamlInputError) as caught:
        load_documents(data, "clusters/prod.yaml", max_bytes=256 * 1024)
    assert caught.value.kind == "too-large" and caught.value.line == 3  # the second alias
    assert "document larger than 262,144 characters once its aliases are expanded" in caught.value.message
