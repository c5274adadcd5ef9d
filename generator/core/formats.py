"""Value formats the operator's Go code checks: image references, quantities, versions, FQDNs, GUIDs."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from typing import Any

# --- github.com/distribution/reference (regexp.go, normalize.go) as used by ParseNormalizedNamed ---
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_HOST = rf"(?:{_DOMAIN_NAME}|\[(?:[a-fA-F0-9:]+)\])"
_DOMAIN_AND_PORT = rf"{_HOST}(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN_AND_PORT}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$")
_IDENTIFIER = re.compile(r"^[a-f0-9]{64}$")
_NAME_TOTAL_LENGTH_MAX = 255


def image_reference_error(text: str) -> str:
    """Why ``reference.ParseNormalizedNamed(text)`` fails; "" when it parses."""
    if not text:
        return "repository name must have at least one component"
    if _IDENTIFIER.match(text):
        return "cannot specify a 64-byte hexadecimal string as a repository name"
    slash = text.find("/")
    first = text[:slash]
    if slash == -1 or (not any(c in first for c in ".:") and first != "localhost" and first.lower() == first):
        domain, remainder = "docker.io", text
    else:
        domain, remainder = first, text[slash + 1:]
    if remainder.lower() != remainder:
        return "repository name must be lowercase"
    match = _REFERENCE.match(f"{domain}/{remainder}")
    if not match:
        return "invalid reference format"
    if len(match.group(1)) > _NAME_TOTAL_LENGTH_MAX:
        return f"repository name must not be more than {_NAME_TOTAL_LENGTH_MAX} characters"
    return ""


# --- k8s.io/apimachinery resource.Quantity ---
_QUANTITY = re.compile(
    r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$"
)
_DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
            "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
            "P": Fraction(10**15), "E": Fraction(10**18)}
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def parse_quantity(value: object) -> Fraction | None:
    """The exact value of a Kubernetes quantity (int, float or string); None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(value) if value == value and abs(value) != float("inf") else None
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if not match:
        return None
    number, exponent, suffix = match.groups()
    amount = Fraction(number)
    if exponent:
        return amount * Fraction(10) ** int(exponent[1:])
    suffix = suffix or ""
    return amount * (_BINARY[suffix] if suffix in _BINARY else _DECIMAL[suffix])


# --- the webhook's own regexes (nicpolicy_webhook.go) ---
FQDN = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z]{2,})+$")
SRIOV_RESOURCE_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.]*)?[A-Za-z0-9]$")
RDMA_RESOURCE_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
PKEY_GUID = re.compile(r"^([0-9A-Fa-f]{2}:){7}([0-9A-Fa-f]{2})$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def go_match(pattern: re.Pattern[str], text: str) -> bool:
    """Go's ``MatchString`` with ^...$: Python's ``$`` also matches before a final newline; Go's does not."""
    return "\n" not in text and pattern.match(text) is not None


# --- JSON embedded in an object (device plugin configs, CNI ipam and config strings) ---


def json_value(text: str) -> Any:
    """``json.loads`` of a string an object carries: malformed JSON, and JSON nested past the interpreter's recursion
    limit (a 100,000-deep ``[[[...``), are both a ValueError the caller reports as invalid JSON."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply to read") from None


# A version range as Flux's GitRepository spec.ref.semver takes it: source-controller parses it with
# Masterminds/semver v3 NewConstraint (constraints.go: cvRegex, the operators, validConstraintRegex, rewriteRange),
# and a range it cannot parse fails the GitRepository, so nothing after it syncs. Go's regexp runs in linear time;
# validConstraintRegex run by Python's backtracking engine does not (a run of "1   " hangs it), so each alternative
# is read here token by token: the same language, in one pass.
_SEMVER_VERSION = (r"v?([0-9|xX*]+)(\.[0-9|xX*]+)?(\.[0-9|xX*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
                   r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?")
_SEMVER_VERSION_AT = re.compile(_SEMVER_VERSION)  # one version at a position: no repetition around it
_SEMVER_OPS = ("!=", ">=", "=>", "<=", "=<", "~>", "=", ">", "<", "~", "^")  # longest first; none is "=" too
_SEMVER_RANGE = re.compile(rf"[ \t\n\f\r]*({_SEMVER_VERSION})[ \t\n\f\r]+-[ \t\n\f\r]+({_SEMVER_VERSION})"
                           r"[ \t\n\f\r]*")
_GO_SPACE = " \t\n\f\r"  # Go's \s


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in _GO_SPACE:
        i += 1
    return i


def _comparison_end(text: str, i: int) -> int:
    """Where one comparison (an operator or none, spaces, a version) that starts at ``i`` ends; -1 when none does. A
    longer operator is always the one to take: what follows an operator must start a version, which no operator
    character does; and a version is taken whole, since what follows it must be a space, a comma or the end."""
    op = next((op for op in _SEMVER_OPS if text.startswith(op, i)), "")
    found = _SEMVER_VERSION_AT.match(text, _skip_space(text, i + len(op)))
    return found.end() if found else -1


def _comparisons(text: str) -> bool:
    """validConstraintRegex: ``^(\\s*(op)\\s*(version)\\s*)((?:\\s+|,\\s*)(op)\\s*(version)\\s*)*$``."""
    i = _comparison_end(text, _skip_space(text, 0))
    while i >= 0:
        j = _skip_space(text, i)
        if j == len(text):
            return True
        if text[j] == ",":
            j = _skip_space(text, j + 1)
        elif j == i:  # neither a space nor a comma between two comparisons
            return False
        i = _comparison_end(text, j)
    return False


def semver_constraint_error(text: str) -> str | None:
    """Why Masterminds/semver v3 (Flux's parser of ``spec.ref.semver``) refuses a version range; None when it parses.
    Ranges ``A - B`` are rewritten to ``>= A, <= B`` first, then every ``||`` alternative must be a list of
    comparisons."""
    rewritten = _SEMVER_RANGE.sub(lambda m: f">= {m.group(1)}, <= {m.group(11)}", text)
    for alternative in rewritten.split("||"):
        if not _comparisons(alternative):
            return (f"improper constraint: {alternative.strip() or '(empty)'} (a range is comparisons such as "
                    "'>=1.2.0 <2.0.0', '~1.2', '^1.0', '1.2.x' or '1.0 - 1.4', alternatives joined by ||)")
    return None
