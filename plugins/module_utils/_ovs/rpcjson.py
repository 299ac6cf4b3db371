# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""python-ovs's JSON-RPC reader on the standard library's C JSON decoder.

python-ovs parses every OVSDB message with ``ovs.json.Parser``: a C extension when python-ovs was built
against the Open vSwitch library (``ovs._json``), else a lexer in pure Python, one call per character.
The pip wheel and the lab's virtualenv have no C extension: there the monitor reply of a switch with 500
ports took 0.3 s to parse, most of an ovs_tunnel or ovs_bridge run (issue 20).

:class:`Parser` has the interface ``ovs.jsonrpc.Connection.recv`` uses in the pure-Python mode
(``feed(text)`` returns the characters it consumed, ``is_done()``, ``finish()`` returns the value or an
error string): it only finds where the top-level object or array ends (strings and brackets, with a
regular expression) and hands the text to :func:`json.loads`. A top-level scalar (never a JSON-RPC
message) goes to python-ovs's own parser. :func:`install` puts it in place of ``ovs.json.Parser`` when
python-ovs has no C parser; it is a no-op otherwise.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

# a complete string, a bracket, or the opening quote of a string whose end has not arrived yet
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]|"', re.DOTALL)
_SPACE = re.compile(r'[ \t\r\n]*')


class Parser(object):
    """``ovs.json.Parser`` (pure-Python mode) for one top-level JSON value."""

    fallback = None  # python-ovs's own parser class, for a top-level scalar

    def __init__(self, check_trailer=False):
        self.check_trailer = check_trailer
        self.done = False
        self._parts = []
        self._pending = ""  # the start of a string not complete yet
        self._depth = 0
        self._started = False
        self._slow = None
        self._error = None

    def feed(self, s):
        if self._slow is not None:
            return self._slow.feed(s)
        if self.done:
            return 0
        pos = 0
        if not self._started:  # nothing kept yet: s is the whole input so far (but spaces)
            pos = _SPACE.match(s).end()
            if pos == len(s):
                return len(s)
            if s[pos] not in "[{":
                self._slow = self.fallback(check_trailer=self.check_trailer)
                return self._slow.feed(s)
            self._started = True
        buf = self._pending + s  # a kept string start is scanned again from its quote
        start = len(self._pending)  # where s begins in buf
        self._pending = ""
        depth = self._depth
        for m in _TOKEN.finditer(buf, pos):
            tok = m.group()
            first = tok[0]
            if first == '"':
                if len(tok) == 1:  # the rest of this string is still to come
                    self._parts.append(buf[:m.start()])
                    self._pending = buf[m.start():]
                    self._depth = depth
                    return len(s)
            elif first in "[{":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    end = m.end()
                    self._parts.append(buf[:end])
                    self.done = True
                    if self.check_trailer and buf[end:].strip():
                        self._error = "trailing garbage at end of input"
                    return end - start
        self._parts.append(buf)
        self._depth = depth
        return len(s)

    def is_done(self):
        if self._slow is not None:
            return self._slow.is_done()
        return self.done

    def finish(self):
        if self._slow is not None:
            return self._slow.finish()
        if self._error:
            return self._error
        if not self.done:
            return "unexpected end of input" if self._started or self._pending else "empty input stream"
        try:
            return json.loads("".join(self._parts))
        except ValueError as exc:
            return "syntax error: %s" % exc


def install():
    """Use :class:`Parser` for python-ovs's JSON-RPC when python-ovs has only its pure-Python parser."""
    try:
        import ovs.json as ovs_json
    except ImportError:  # pragma: no cover - python-ovs comes with ovsdbapp
        return False
    if ovs_json.PARSER != ovs_json.PARSER_PY:
        return False
    if ovs_json.Parser is not Parser:
        Parser.fallback = ovs_json.Parser
        ovs_json.Parser = Parser
    return True
