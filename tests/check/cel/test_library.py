"""The CEL environment: the standard library and macros, cel-go's strings and optional extensions, and the
Kubernetes libraries (quantity, lists, regex, url, ip, cidr, format), each with its errors."""

from __future__ import annotations

import pytest

from generator.check.cel.runtime import CelError, default_engine

TRUE_EXPRESSIONS = [
    # standard library and macros
    "[1, 2, 3].all(x, x > 0) && [1, 2].exists(x, x == 2) && [1, 2].exists_one(x, x == 2)",
    "[1, 2, 3].map(x, x * 2) == [2, 4, 6] && [1, 2, 3].filter(x, x > 1) == [2, 3]",
    "'abc'.matches('^[a-c]+$') && 'abc'.startsWith('a') && 'abc'.endsWith('c') && 'abc'.contains('b')",
    "self.two == 2.0 && self.two > 1.5 && self.half < 1",  # cross-type numeric comparisons (Kubernetes >= 1.28)
    # strings extension
    "'ABC'.lowerAscii() == 'abc' && 'abc'.upperAscii() == 'ABC' && 'a-b'.replace('-', '_') == 'a_b'",
    "'a,b'.split(',') == ['a', 'b'] && ['a', 'b'].join('-') == 'a-b' && '  a '.trim() == 'a'",
    "'abcc'.indexOf('c') == 2 && 'abcc'.lastIndexOf('c') == 3 && 'abcdef'.substring(1, 3) == 'bc'",
    "'%s has %d'.format(['pool', 3]) == 'pool has 3' && 'abc'.charAt(1) == 'b'",
    # optional types
    "{'a': 1}.?b.orValue(5) == 5 && {'a': 1}.?a.hasValue() && {'k': 2}[?'k'].orValue(0) == 2",
    "optional.of(1).value() == 1 && !optional.none().hasValue()",
    # lists
    "[1, 2, 3].isSorted() && ![2, 1].isSorted() && ['a', 'b'].isSorted()",
    "[1, 2, 3].sum() == 6 && [1.5, 2.5].sum() == 4.0 && [3, 1, 2].min() == 1 && [3, 1, 2].max() == 3",
    "[1, 2, 1].indexOf(1) == 0 && [1, 2, 1].lastIndexOf(1) == 2 && [1].indexOf(5) == -1",
    # regex
    "'abc 123 de 45'.find('[0-9]+') == '123' && 'abc 123 de 45'.findAll('[0-9]+') == ['123', '45']",
    "'a1b2c3'.findAll('[0-9]', 2) == ['1', '2'] && 'abc'.find('x') == ''",
    # quantity
    "isQuantity('1Gi') && !isQuantity('1 Gi') && !isQuantity('1GiB') && quantity('1Gi') == quantity('1024Mi')",
    "quantity('1Gi').isGreaterThan(quantity('500Mi')) && quantity('500m').isLessThan(quantity('1'))",
    "quantity('1.5').compareTo(quantity('1500m')) == 0 && quantity('2k').asInteger() == 2000",
    "!quantity('1.5').isInteger() && quantity('1.5').asApproximateFloat() == 1.5 && sign(quantity('-3')) == -1",
    "quantity('-3').sign() == -1 && quantity('0').sign() == 0",
    "quantity('1Gi').add(quantity('1Gi')) == quantity('2Gi') && quantity('1').sub(1) == quantity('0')",
    "quantity('1e3') == quantity('1k') && quantity('1n').isGreaterThan(quantity('0'))",
    # url
    "isURL('https://example.com:8443/a/b?x=1&x=2') && !isURL('example.com/a') && isURL('/relative')",
    "url('https://user@example.com:8443/a?x=1&x=2').getHost() == 'example.com:8443'",
    "url('https://e.com:8443/a').getHostname() == 'e.com' && url('https://[::1]:80/').getHostname() == '::1'",
    "url('https://e.com:8443/a').getPort() == '8443' && url('https://e.com/a/b').getEscapedPath() == '/a/b'",
    "url('https://e.com/?x=1&x=2&y=').getQuery() == {'x': ['1', '2'], 'y': ['']}",
    "url('http://e.com').getScheme() == 'http'",
    # ip / cidr
    "isIP('10.0.0.1') && isIP('fd00::1') && !isIP('10.0.0.256') && !isIP('::ffff:10.0.0.1') && !isIP('fe80::1%eth0')",
    "ip('10.0.0.1').family() == 4 && ip('fd00::1').family() == 6 && ip('127.0.0.1').isLoopback()",
    "ip('0.0.0.0').isUnspecified() && ip('fe80::1').isLinkLocalUnicast() && ip('224.0.0.1').isLinkLocalMulticast()",
    "ip('8.8.8.8').isGlobalUnicast() && !ip('255.255.255.255').isGlobalUnicast() && ip('10.0.0.1') == ip('10.0.0.1')",
    "ip.isCanonical('fd00::1') && !ip.isCanonical('fd00:0::1') && string(ip('fd00:0::1')) == 'fd00::1'",
    "isCIDR('192.168.0.0/16') && !isCIDR('192.168.0.0') && !isCIDR('192.168.0.0/33')",
    "cidr('192.168.0.0/16').containsIP('192.168.3.4') && !cidr('192.168.0.0/16').containsIP(ip('10.0.0.1'))",
    "cidr('192.168.0.0/16').containsCIDR('192.168.1.0/24') && !cidr('10.1.0.0/24').containsCIDR(cidr('10.0.0.0/8'))",
    "cidr('192.168.1.7/16').masked() == cidr('192.168.0.0/16') && cidr('192.168.1.7/16').ip() == ip('192.168.1.7')",
    "cidr('192.168.0.0/16').prefixLength() == 16 && string(cidr('10.0.0.0/8')) == '10.0.0.0/8'",
    # format
    "!format.dns1123Label().validate('my-name').hasValue() && format.dns1123Label().validate('My_Name').hasValue()",
    "!format.dns1123Subdomain().validate('a.b-c').hasValue() && format.named('dns1035Label').hasValue()",
    "!format.named('nope').hasValue() && !format.named('labelValue').value().validate('').hasValue()",
    "!format.dns1123LabelPrefix().validate('gen-').hasValue() && format.dns1123Label().validate('gen-').hasValue()",
    "!format.qualifiedName().validate('example.com/MyName').hasValue() && !format.uri().validate('/a').hasValue()",
    "!format.uuid().validate('123e4567-e89b-12d3-a456-426614174000').hasValue() && format.uuid().validate('x')"
    ".hasValue()",
    "!format.byte().validate('aGk=').hasValue() && !format.date().validate('2024-02-29').hasValue()",
    "format.date().validate('2023-02-29').hasValue() && !format.datetime().validate('2024-01-01T10:00:00Z').hasValue()",
    "format.portName().validate('http--x').value() == ['must not contain consecutive hyphens']",
]


@pytest.mark.parametrize("expr", TRUE_EXPRESSIONS)
def test_expression_is_true(expr: str) -> None:
    engine = default_engine()
    result, error = engine.evaluate(engine.compile(expr), {"self": {"two": 2, "half": 0.5}})
    assert error is None and result is True, (result, error)


@pytest.mark.parametrize(("expr", "error"), [
    ("quantity('1 Gi') == quantity('1Gi')", "quantities must match the regular expression"),
    ("quantity('1.5').asInteger() == 1", "cannot convert value to integer"),
    ("[].min() == 0", "min called on empty list"),
    ("ip('10.0.0.256').family() == 4", "parse error"),
    ("ip('::ffff:10.0.0.1').family() == 6", "IPv4-mapped IPv6 address"),
    ("cidr('10.0.0.0').prefixLength() == 0", "network address parse error"),
    ("url('not a url').getHost() == ''", "URL parse error"),
    ("'abc'.find('(') == ''", "Illegal regex"),
    ("9223372036854775807 + self.one > 0", "integer overflow"),
    ("{'a': 1}.b == 1", "no such key: b"),
    ("format.dns1123Label().validate('ok').value() == []", "optional.none() dereference"),
])
def test_expression_errors(expr: str, error: str) -> None:
    engine = default_engine()
    result, found = engine.evaluate(engine.compile(expr), {"self": {"one": 1}})
    assert found is not None and error in found, (result, found)


def test_format_messages_are_apimachinery_s() -> None:
    engine = default_engine()
    result, _ = engine.evaluate(engine.compile("format.dns1123Label().validate(self).value()"), {"self": "A b"})
    assert result == ["a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
                      "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                      "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"]
    result, _ = engine.evaluate(engine.compile("format.qualifiedName().validate(self).value()"), {"self": "a/b/c"})
    assert isinstance(result, list) and result[0].startswith("a qualified name must consist of")


def test_compile_error() -> None:
    with pytest.raises(CelError):
        default_engine().compile("self.a ==")
