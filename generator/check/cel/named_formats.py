"""The Kubernetes ``format`` CEL library: ``format.dns1123Label()`` ... and ``format.named(name)`` give a format,
``<format>.validate(s)`` the reasons ``s`` does not have it (k8s.io/apiserver/pkg/cel/library/format.go, with
apimachinery's validation messages).

``validate`` returns ``optional<list<string>>`` in Kubernetes. cel-expr-python cannot build an optional value in
Python, so here it returns the list of reasons (empty: valid), and ``hasValue()`` and ``value()`` are defined on
string lists to mean what they mean on that optional; ``format.named`` likewise returns a format whose
``hasValue()`` says whether the name is known. Rules written the documented way
(``!format.dns1123Label().validate(self).hasValue()``) evaluate as in the API server; ``orValue()`` on a result
does not (cel-cpp's optional extension keeps that name to itself): it is an error, never a wrong verdict.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + r"(\." + _DNS1123_LABEL + ")*"
_DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = "(" + _QUALIFIED_NAME + ")?"
_UUID = re.compile(r"(?i)^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$")


def _regex_error(message: str, pattern: str, *examples: str) -> str:
    """apimachinery's validation.RegexError."""
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{pattern}')"


def _max_len(n: int) -> str:
    return f"must be no more than {n} characters"


def _checker(pattern: str, limit: int, message: str, *examples: str) -> Callable[[str], list[str]]:
    compiled = re.compile(pattern)

    def check(value: str) -> list[str]:
        errors = [_max_len(limit)] if len(value) > limit else []
        if not compiled.fullmatch(value):
            errors.append(_regex_error(message, pattern, *examples))
        return errors

    return check


dns1123_label = _checker(_DNS1123_LABEL, 63, "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                         "characters or '-', and must start and end with an alphanumeric character",
                         "my-name", "123-abc")
dns1123_subdomain = _checker(_DNS1123_SUBDOMAIN, 253, "a lowercase RFC 1123 subdomain must consist of lower case "
                             "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
                             "character", "example.com")
dns1035_label = _checker(_DNS1035_LABEL, 63, "a DNS-1035 label must consist of lower case alphanumeric characters "
                         "or '-', start with an alphabetic character, and end with an alphanumeric character",
                         "my-name", "abc-123")
_name_part = _checker(_QUALIFIED_NAME, 63, "must consist of alphanumeric characters, '-', '_' or '.', and must start "
                      "and end with an alphanumeric character", "MyName", "my.name", "123-abc")
label_value = _checker(_LABEL_VALUE, 63, "a valid label must be an empty string or consist of alphanumeric "
                       "characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                       "MyValue", "my_value", "12345")


def qualified_name(value: str) -> list[str]:
    """apimachinery's IsQualifiedName: an optional DNS subdomain prefix and '/', then a name."""
    parts = value.split("/")
    if len(parts) > 2:
        return ["a qualified name " + _regex_error(
            "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
            "character", _QUALIFIED_NAME, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    errors: list[str] = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        errors += ["prefix part must be non-empty"] if not prefix else \
            [f"prefix part {e}" for e in dns1123_subdomain(prefix)]
    if not name:
        return [*errors, "name part must be non-empty"]
    return errors + [f"name part {e}" for e in _name_part(name)]


def port_name(value: str) -> list[str]:
    """apimachinery's IsValidPortName."""
    errors = [_max_len(15)] if len(value) > 15 else []
    if not re.fullmatch(r"[-a-z0-9]+", value):
        errors.append("must contain only alphanumeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in value:
        errors.append("must not contain consecutive hyphens")
    if value and not re.search("[a-z]", value):
        errors.append("must contain at least one letter (a-z)")
    if value.startswith("-") or value.endswith("-"):
        errors.append("must not begin or end with a hyphen")
    return errors


def _mask_trailing_dash(name: str) -> str:
    """apimachinery's maskTrailingDash, for names that are prefixes (generateName)."""
    return name[:-2] + "a" if len(name) > 1 and name.endswith("-") else name


def request_uri_error(text: str) -> str | None:
    """Why Go's url.ParseRequestURI refuses ``text`` (approximated: an absolute URI or an absolute path, no blanks),
    or None."""
    if not text or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return f"parse {text!r}: invalid URI"
    parts = urllib.parse.urlsplit(text, allow_fragments=False)
    if not parts.scheme and not text.startswith("/"):
        return f"parse {text!r}: invalid URI for request"
    if parts.scheme and not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme):
        return f"parse {text!r}: invalid scheme"
    return None


def _uri(value: str) -> list[str]:
    error = request_uri_error(value)
    return [error] if error else []


def _byte(value: str) -> list[str]:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return ["invalid base64"]
    return []


def _date(value: str) -> list[str]:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return ["invalid date"]
    return [] if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else ["invalid date"]


def _datetime(value: str) -> list[str]:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?", value):
        return ["invalid datetime"]
    try:
        dt.datetime.fromisoformat(re.sub("[Zz]$", "+00:00", value))
    except ValueError:
        return ["invalid datetime"]
    return []


FORMATS: dict[str, Callable[[str], list[str]]] = {
    "dns1123Label": dns1123_label,
    "dns1123Subdomain": dns1123_subdomain,
    "dns1035Label": dns1035_label,
    "qualifiedName": qualified_name,
    "portName": port_name,
    "dns1123LabelPrefix": lambda s: dns1123_label(_mask_trailing_dash(s)),
    "dns1123SubdomainPrefix": lambda s: dns1123_subdomain(_mask_trailing_dash(s)),
    "dns1035LabelPrefix": lambda s: dns1035_label(_mask_trailing_dash(s)),
    "labelValue": label_value,
    "uri": _uri,
    "uuid": lambda s: [] if _UUID.match(s) else ["does not match the UUID format"],
    "byte": _byte,
    "date": _date,
    "datetime": _datetime,
}


def _format(name: str) -> dict[str, str]:
    return {"__k8s__": "format", "v": name}


def _name_of(fmt: Any) -> str:
    if isinstance(fmt, Mapping) and fmt.get("__k8s__") == "format":
        return str(fmt["v"])
    raise ValueError("no such overload")


def _validate(fmt: Any, value: str) -> list[str]:
    name = _name_of(fmt)
    if name not in FORMATS:
        raise ValueError("optional.none() dereference")
    return FORMATS[name](value)


def _value(found: Any) -> Any:
    if not found or (isinstance(found, Mapping) and _name_of(found) not in FORMATS):
        raise ValueError("optional.none() dereference")
    return found


def function_decls(cel: Any, fn: Callable[..., Any]) -> list[Any]:
    """The format library's declarations; ``fn(name, *overloads)`` is ``library.function_decls``' helper."""
    T = cel.Type
    K = T.Map(T.STRING, T.STRING)
    S = T.List(T.STRING)

    def constant(name: str) -> Callable[[], dict[str, str]]:
        return lambda: _format(name)

    return [
        *(fn(f"format.{name}", (f"format_{name}", K, [], False, constant(name))) for name in FORMATS),
        fn("format.named", ("format_named", K, [T.STRING], False, _format)),
        fn("validate", ("format_validate", S, [K, T.STRING], True, _validate)),
        fn("hasValue", ("format_errors_has_value", T.BOOL, [S], True, bool),
           ("format_named_has_value", T.BOOL, [K], True, lambda f: _name_of(f) in FORMATS)),
        fn("value", ("format_errors_value", S, [S], True, _value),
           ("format_named_value", K, [K], True, _value)),
    ]
