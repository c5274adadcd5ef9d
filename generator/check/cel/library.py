"""The Kubernetes CEL libraries (k8s.io/apiserver/pkg/cel/library), our own Python implementation: quantity,
lists, regex, url, ip and cidr (the format library is in ``named_formats``).

Library values (quantity, url, ip, cidr, format) reach CEL as maps tagged ``__k8s__`` (cel-expr-python has no
opaque types), so ``type()`` of one is ``map``. A Python exception in a function becomes a CEL error value, which
``||`` and ``&&`` absorb like cel-go does.
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from generator.check.cel import named_formats
from generator.check.cel.named_formats import request_uri_error

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Overload = tuple[str, Any, list[Any], bool, Callable[..., Any]]  # (id, return type, parameters, member, impl)


class LibraryError(ValueError):
    """Raised inside a library function; the engine turns it into a CEL error value."""


def tagged(kind: str, value: str) -> dict[str, str]:
    return {"__k8s__": kind, "v": value}


def untag(obj: Any, kind: str) -> str:
    if isinstance(obj, Mapping) and obj.get("__k8s__") == kind:
        return str(obj["v"])
    raise LibraryError("no such overload")


# -- quantity: resource.ParseQuantity --------------------------------------------------------------------------------
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_EXPONENT = re.compile(r"[eE][-+]?[0-9]+")
_INT64 = (-(2**63), 2**63 - 1)


def parse_quantity(text: str) -> Fraction:
    """The exact value of a Kubernetes quantity string, rounded up to nano precision like ParseQuantity."""
    match = _QUANTITY.match(text)
    if not text or not match or not _NUMBER.fullmatch(match.group(1)):
        raise LibraryError(f"quantities must match the regular expression '{_QUANTITY.pattern}'")
    number, suffix = match.groups()
    value = Fraction(number)
    if suffix in _BINARY:
        value *= _BINARY[suffix]
    elif suffix in _DECIMAL:
        value *= Fraction(10) ** _DECIMAL[suffix]
    elif _EXPONENT.fullmatch(suffix):
        value *= Fraction(10) ** int(suffix[1:])
    else:
        raise LibraryError("unable to parse quantity's suffix")
    nano = value * 10**9
    if nano.denominator != 1:  # inf.RoundUp: away from zero, at 10^-9
        nano = Fraction(math.ceil(nano) if nano > 0 else math.floor(nano))
        value = nano / 10**9
    return value


def _q(value: Fraction) -> dict[str, str]:
    return tagged("quantity", f"{value.numerator}/{value.denominator}")


def _qv(obj: Any) -> Fraction:
    return Fraction(untag(obj, "quantity"))


def _q_int(obj: Any) -> int:
    value = _qv(obj)
    if value.denominator != 1 or not _INT64[0] <= value.numerator <= _INT64[1]:
        raise LibraryError("cannot convert value to integer")
    return value.numerator


def _q_is_int(obj: Any) -> bool:
    value = _qv(obj)
    return value.denominator == 1 and _INT64[0] <= value.numerator <= _INT64[1]


def _cmp(a: Fraction, b: Fraction) -> int:
    return (a > b) - (a < b)


# -- lists ------------------------------------------------------------------------------------------------------------
def _comparable(items: Sequence[Any]) -> list[Any]:
    kinds = {type(x) for x in items}
    if (len(kinds) > 1 and not kinds <= {int, float}) or kinds & {dict, list, type(None)}:
        raise LibraryError("no such overload")
    return list(items)


def _is_sorted(items: Sequence[Any]) -> bool:
    return all(a <= b for a, b in itertools.pairwise(_comparable(items)))


def _sum(items: Sequence[Any]) -> Any:
    values = _comparable(items)
    if any(isinstance(x, (str, bytes, bool)) for x in values):
        raise LibraryError("no such overload")
    total: Any = 0.0 if any(isinstance(x, float) for x in values) else 0
    for x in values:
        total += x
    if isinstance(total, int) and not _INT64[0] <= total <= _INT64[1]:
        raise LibraryError("integer overflow")
    return total


def _extreme(name: str, pick: Callable[[list[Any]], Any]) -> Callable[[Sequence[Any]], Any]:
    def extreme(items: Sequence[Any]) -> Any:
        values = _comparable(items)
        if not values:
            raise LibraryError(f"{name} called on empty list")
        return pick(values)

    return extreme


def _cel_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _index_of(items: Sequence[Any], x: Any) -> int:
    return next((i for i, v in enumerate(items) if _cel_equal(v, x)), -1)


def _last_index_of(items: Sequence[Any], x: Any) -> int:
    return next((i for i in range(len(items) - 1, -1, -1) if _cel_equal(items[i], x)), -1)


# -- regex ------------------------------------------------------------------------------------------------------------
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise LibraryError(f"Illegal regex: {exc}") from None


def _find(text: str, pattern: str) -> str:
    match = _regex(pattern).search(text)
    return match.group(0) if match else ""


def _find_all(text: str, pattern: str, limit: int = -1) -> list[str]:
    found = [m.group(0) for m in _regex(pattern).finditer(text)]
    return found if limit < 0 else found[:limit]


# -- url --------------------------------------------------------------------------------------------------------------
def _url(text: str) -> dict[str, str]:
    error = request_uri_error(text)
    if error:
        raise LibraryError(f"URL parse error during conversion from string: {error}")
    return tagged("url", text)


def _url_parts(obj: Any) -> urllib.parse.SplitResult:
    return urllib.parse.urlsplit(untag(obj, "url"), allow_fragments=False)


def _netloc(obj: Any) -> str:
    return _url_parts(obj).netloc.rpartition("@")[2]


def _hostname(obj: Any) -> str:
    netloc = _netloc(obj)
    if netloc.startswith("["):
        return netloc[1: netloc.find("]")] if "]" in netloc else netloc[1:]
    return netloc.partition(":")[0]


def _port(obj: Any) -> str:
    netloc = _netloc(obj)
    tail = netloc[netloc.find("]") + 1:] if netloc.startswith("[") else netloc
    return tail.partition(":")[2] if ":" in tail else ""


def _query(obj: Any) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(_url_parts(obj).query, keep_blank_values=True)


# -- ip / cidr --------------------------------------------------------------------------------------------------------
def _parse_ip(text: str) -> IP:
    if "%" in text:
        raise LibraryError(f"IP address {text!r} with zone value is not allowed")
    try:
        addr = ipaddress.ip_address(text)
    except ValueError as exc:
        raise LibraryError(f"IP Address {text!r} parse error during conversion from string: {exc}") from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        raise LibraryError(f"IPv4-mapped IPv6 address {text!r} is not allowed")
    return addr


def _ipv(obj: Any) -> IP:
    return ipaddress.ip_address(untag(obj, "ip"))


def _ok(parse: Callable[[str], Any], text: str) -> bool:
    try:
        parse(text)
    except LibraryError:
        return False
    return True


def _parse_cidr(text: str) -> tuple[IP, int]:
    addr_text, sep, bits = text.partition("/")
    if not sep or not bits.isdigit() or (len(bits) > 1 and bits.startswith("0")):
        raise LibraryError(f"network address parse error during conversion from string: {text!r}: bad bits")
    try:
        addr = _parse_ip(addr_text)
    except LibraryError as exc:
        raise LibraryError(f"network address parse error during conversion from string: {exc}") from None
    if int(bits) > addr.max_prefixlen:
        raise LibraryError(f"network address parse error during conversion from string: {text!r}: bad prefix length")
    return addr, int(bits)


def _cidr(text: str) -> dict[str, str]:
    addr, bits = _parse_cidr(text)
    return tagged("cidr", f"{addr}/{bits}")


def _network(obj: Any) -> Network:
    return ipaddress.ip_network(untag(obj, "cidr"), strict=False)


def _contains_ip(cidr: Any, ip: Any) -> bool:
    addr = _parse_ip(ip) if isinstance(ip, str) else _ipv(ip)
    return addr in _network(cidr)


def _contains_cidr(cidr: Any, other: Any) -> bool:
    inner = ipaddress.ip_network(untag(_cidr(other) if isinstance(other, str) else other, "cidr"), strict=False)
    outer = _network(cidr)
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner.subnet_of(outer)
    return False


def _to_string(obj: Any) -> str:
    if isinstance(obj, Mapping) and obj.get("__k8s__") in ("ip", "cidr"):
        return str(obj["v"])
    raise LibraryError("no such overload")


_LINK_LOCAL_MULTICAST = {4: ipaddress.ip_network("224.0.0.0/24"), 6: ipaddress.ip_network("ff02::/16")}


def _is_link_local_multicast(obj: Any) -> bool:
    addr = _ipv(obj)
    return addr in _LINK_LOCAL_MULTICAST[addr.version]


def _is_global_unicast(obj: Any) -> bool:
    """Go's netip.Addr.IsGlobalUnicast: not unspecified, loopback, multicast, link-local or IPv4 broadcast."""
    addr = _ipv(obj)
    if addr.is_unspecified or addr.is_loopback or addr.is_multicast or addr.is_link_local:
        return False
    return not (addr.version == 4 and int(addr) == 0xFFFFFFFF)


def function_decls(cel: Any) -> list[Any]:
    """cel-expr-python ``FunctionDecl``s of the Kubernetes libraries (``cel`` is the ``cel_expr_python.cel`` module)."""
    T = cel.Type
    K = T.Map(T.STRING, T.STRING)  # a tagged library value
    L = T.List(T.DYN)

    def fn(name: str, *overloads: Overload) -> Any:
        return cel.FunctionDecl(name, [cel.Overload(oid, ret, params, is_member=member, impl=impl)
                                       for oid, ret, params, member, impl in overloads])

    def url_part(name: str, oid: str, part: Callable[[Any], str]) -> Any:
        return fn(name, (oid, T.STRING, [K], True, part))

    def ip_test(name: str, oid: str, test: Callable[[Any], bool]) -> Any:
        return fn(name, (oid, T.BOOL, [K], True, test))

    return [
        # quantity
        fn("quantity", ("string_to_quantity", K, [T.STRING], False, lambda s: _q(parse_quantity(s)))),
        fn("isQuantity", ("is_quantity_string", T.BOOL, [T.STRING], False, lambda s: _ok(parse_quantity, s))),
        fn("sign", ("quantity_sign", T.INT, [K], False, lambda q: _cmp(_qv(q), Fraction(0))),
           ("quantity_sign_member", T.INT, [K], True, lambda q: _cmp(_qv(q), Fraction(0)))),
        fn("isGreaterThan", ("quantity_is_greater_than", T.BOOL, [K, K], True, lambda a, b: _qv(a) > _qv(b))),
        fn("isLessThan", ("quantity_is_less_than", T.BOOL, [K, K], True, lambda a, b: _qv(a) < _qv(b))),
        fn("compareTo", ("quantity_compare_to", T.INT, [K, K], True, lambda a, b: _cmp(_qv(a), _qv(b)))),
        fn("asApproximateFloat", ("quantity_get_float", T.DOUBLE, [K], True, lambda q: float(_qv(q)))),
        fn("asInteger", ("quantity_get_int", T.INT, [K], True, _q_int)),
        fn("isInteger", ("quantity_is_integer", T.BOOL, [K], True, _q_is_int)),
        fn("add", ("quantity_add", K, [K, K], True, lambda a, b: _q(_qv(a) + _qv(b))),
           ("quantity_add_int", K, [K, T.INT], True, lambda a, n: _q(_qv(a) + n))),
        fn("sub", ("quantity_sub", K, [K, K], True, lambda a, b: _q(_qv(a) - _qv(b))),
           ("quantity_sub_int", K, [K, T.INT], True, lambda a, n: _q(_qv(a) - n))),
        # lists (indexOf/lastIndexOf merge with the strings extension's string overloads)
        fn("isSorted", ("list_is_sorted", T.BOOL, [L], True, _is_sorted)),
        fn("sum", ("list_sum", T.DYN, [L], True, _sum)),
        fn("min", ("list_min", T.DYN, [L], True, _extreme("min", min))),
        fn("max", ("list_max", T.DYN, [L], True, _extreme("max", max))),
        fn("indexOf", ("list_a_index_of_int", T.INT, [L, T.DYN], True, _index_of)),
        fn("lastIndexOf", ("list_a_last_index_of_int", T.INT, [L, T.DYN], True, _last_index_of)),
        # regex
        fn("find", ("string_find_string", T.STRING, [T.STRING, T.STRING], True, _find)),
        fn("findAll", ("string_find_all_string", T.List(T.STRING), [T.STRING, T.STRING], True, _find_all),
           ("string_find_all_string_int", T.List(T.STRING), [T.STRING, T.STRING, T.INT], True, _find_all)),
        # url
        fn("url", ("string_to_url", K, [T.STRING], False, _url)),
        fn("isURL", ("is_url_string", T.BOOL, [T.STRING], False, lambda s: request_uri_error(s) is None)),
        url_part("getScheme", "url_get_scheme", lambda u: _url_parts(u).scheme),
        url_part("getHost", "url_get_host", _netloc),
        url_part("getHostname", "url_get_hostname", _hostname),
        url_part("getPort", "url_get_port", _port),
        url_part("getEscapedPath", "url_get_escaped_path", lambda u: _url_parts(u).path),
        fn("getQuery", ("url_get_query", T.Map(T.STRING, T.List(T.STRING)), [K], True, _query)),
        # ip
        fn("ip", ("string_to_ip", K, [T.STRING], False, lambda s: tagged("ip", str(_parse_ip(s)))),
           ("cidr_ip", K, [K], True, lambda c: tagged("ip", str(_parse_cidr(untag(c, "cidr"))[0])))),
        fn("isIP", ("is_ip", T.BOOL, [T.STRING], False, lambda s: _ok(_parse_ip, s))),
        fn("ip.isCanonical", ("ip_is_canonical", T.BOOL, [T.STRING], False, lambda s: str(_parse_ip(s)) == s)),
        fn("family", ("ip_family", T.INT, [K], True, lambda i: _ipv(i).version)),
        ip_test("isUnspecified", "ip_is_unspecified", lambda i: _ipv(i).is_unspecified),
        ip_test("isLoopback", "ip_is_loopback", lambda i: _ipv(i).is_loopback),
        ip_test("isLinkLocalMulticast", "ip_is_link_local_multicast", _is_link_local_multicast),
        ip_test("isLinkLocalUnicast", "ip_is_link_local_unicast", lambda i: _ipv(i).is_link_local),
        ip_test("isGlobalUnicast", "ip_is_global_unicast", _is_global_unicast),
        # cidr
        fn("cidr", ("string_to_cidr", K, [T.STRING], False, _cidr)),
        fn("isCIDR", ("is_cidr", T.BOOL, [T.STRING], False, lambda s: _ok(_parse_cidr, s))),
        fn("containsIP", ("cidr_contains_ip_string", T.BOOL, [K, T.STRING], True, _contains_ip),
           ("cidr_contains_ip_ip", T.BOOL, [K, K], True, _contains_ip)),
        fn("containsCIDR", ("cidr_contains_cidr_string", T.BOOL, [K, T.STRING], True, _contains_cidr),
           ("cidr_contains_cidr", T.BOOL, [K, K], True, _contains_cidr)),
        fn("prefixLength", ("cidr_prefix_length", T.INT, [K], True, lambda c: _parse_cidr(untag(c, "cidr"))[1])),
        fn("masked", ("cidr_masked", K, [K], True, lambda c: tagged("cidr", str(_network(c))))),
        fn("string", ("k8s_ip_cidr_to_string", T.STRING, [K], False, _to_string)),
        *named_formats.function_decls(cel, fn),
    ]
