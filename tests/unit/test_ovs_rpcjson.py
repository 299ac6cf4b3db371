"""python-ovs's JSON-RPC reader on the json module (_ovs/rpcjson.py, issue 20): the same values as
python-ovs's own parser, whatever the chunks the socket delivers, and the rest of the input left for
the next message."""

import json
import random

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils._ovs import rpcjson

ovs_json = pytest.importorskip("ovs.json")


@pytest.fixture
def original():
    """python-ovs's own parser class (the pure-Python one), whatever install() did before."""
    cls = rpcjson.Parser.fallback or ovs_json.Parser
    if cls is rpcjson.Parser:  # pragma: no cover
        pytest.skip("no original parser")
    if not isinstance(cls.__new__(cls), cls):
        pytest.skip("python-ovs has its C parser here")
    rpcjson.Parser.fallback = cls
    return cls


def read_messages(parser_class, text, chunk):
    """What ovs.jsonrpc.Connection.recv does with its input, ``chunk`` characters at a time."""
    parser, out, pending, i = parser_class(), [], "", 0
    while i < len(text) or pending:
        if not pending:
            pending, i = text[i:i + chunk], i + chunk
        pending = pending[parser.feed(pending):]
        if parser.is_done():
            out.append(parser.finish())
            parser = parser_class()
    return out


def random_value(rnd, depth=0):
    pick = rnd.random()
    if depth > 3 or pick < 0.3:
        return rnd.choice([1, -5, 2.5, True, False, None, 'a"b\\c', "x{y}[z]", "\u00fc\u20ac", "", 12345678901234,
                           "\\", '"', "]}"])
    if pick < 0.65:
        return [random_value(rnd, depth + 1) for _item in range(rnd.randint(0, 4))]
    return dict(('k%d"{\\' % j, random_value(rnd, depth + 1)) for j in range(rnd.randint(0, 4)))


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 4096])
def test_same_values_as_python_ovs_in_any_chunking(original, chunk):
    rnd = random.Random(chunk)
    msgs = [{"id": i, "result": random_value(rnd)} for i in range(200)] + [[1, {"a": "]"}], {}, []]
    text = " \n".join(json.dumps(m, ensure_ascii=bool(i % 2)) for i, m in enumerate(msgs)) + "\n"
    assert read_messages(rpcjson.Parser, text, chunk) == msgs
    assert read_messages(original, text, chunk) == msgs


def test_feed_stops_at_the_end_of_the_value(original):
    p = rpcjson.Parser()
    assert p.feed('  {"a": "}"}{"b": 1}') == len('  {"a": "}"}')
    assert p.is_done() and p.finish() == {"a": "}"}
    p = rpcjson.Parser()
    assert p.feed('{"a": "x') == 8 and not p.is_done()  # a string cut by the socket
    assert p.feed('y\\"z"}[]') == 6 and p.finish() == {"a": 'xy"z'}


def test_errors_are_strings_like_python_ovs(original):
    for bad in ('{"a": tru}', '{"a": [1, 2}]'):
        [err] = read_messages(rpcjson.Parser, bad, 4)
        assert isinstance(err, str) and "syntax error" in err
    p = rpcjson.Parser()
    p.feed('{"a": ')
    assert p.finish() == "unexpected end of input"
    assert rpcjson.Parser().finish() == "empty input stream"
    p = rpcjson.Parser(check_trailer=True)
    p.feed('{"a": 1} x')
    assert isinstance(p.finish(), str)


def test_a_top_level_scalar_goes_to_python_ovs(original):
    for text in (' 42 ', '"s" '):
        mine, theirs = rpcjson.Parser(check_trailer=True), original(check_trailer=True)
        assert mine.feed(text) == theirs.feed(text)
        assert mine.finish() == theirs.finish()


def test_install_only_replaces_the_pure_python_parser(monkeypatch, original):
    monkeypatch.setattr(ovs_json, "Parser", original)
    monkeypatch.setattr(ovs_json, "PARSER", ovs_json.PARSER_C)
    assert rpcjson.install() is False and ovs_json.Parser is original
    monkeypatch.setattr(ovs_json, "PARSER", ovs_json.PARSER_PY)
    assert rpcjson.install() is True and ovs_json.Parser is rpcjson.Parser
    assert rpcjson.install() is True and rpcjson.Parser.fallback is original
