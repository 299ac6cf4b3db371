# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one exception hierarchy.

Managers raise these; the module runner (``_runner.run_module``) catches
:class:`NetwireError` once and turns it into ``fail_json(msg=..., **err.result())``.
Messages follow "Failed to <verb> <kind> '<name>': <reason>" so the operator
sees what and why; :func:`failure` builds them and keeps the parts as fields
(``verb``, ``kind``, ``name``, ``reason``, ``errno``), so that code that must
tell one failure from another checks a field, never the text.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class NetwireError(Exception):
    """Base class: anything a module reports as a clean failure.

    ``details`` become keys of the failed result; ``errno`` (the kernel's or the
    OS's error number, when one caused the failure) is reported as well.
    """

    def __init__(self, msg, errno=None, verb=None, kind=None, name=None, reason=None, **details):
        super(NetwireError, self).__init__(msg)
        self.msg = msg
        self.errno = errno
        self.verb = verb
        self.kind = kind
        self.name = name
        self.reason = msg if reason is None else reason
        self.details = details

    def __str__(self):
        return self.msg

    def result(self):
        """The keys, besides ``msg``, that the failed module result carries."""
        out = dict(self.details)
        if self.errno is not None:
            out['errno'] = self.errno
        return out


class InvalidParameter(NetwireError):
    """User input is malformed or inconsistent; nothing was touched."""


class NotOwned(NetwireError):
    """An object exists under the requested name but the collection did not create it."""


class MissingDependency(NetwireError):
    """A host-side library, daemon or kernel feature the request needs is absent."""


class BackendError(NetwireError):
    """The kernel, OVSDB, nftables or Docker refused an operation."""


def failure(verb, kind, name, reason, cls=NetwireError, errno=None, **details):
    """Build an error with the collection's standard message shape, its parts kept as fields."""
    return cls("Failed to %s %s '%s': %s" % (verb, kind, name, reason), errno=errno, verb=verb, kind=kind,
               name=name, reason=reason, **details)


# Per backend: how its ownership mark is missing, and how to take a port off the bridge by hand.
_FOREIGN = (('OVS bridge', 'no netwire-owner in its external_ids', 'ovs-vsctl del-port'),
            ('Linux bridge', 'no netwire alias', 'ip link set <port> nomaster'))


def refuse_foreign_ports(found, linux=None):
    """Fail naming every port that is not ours on a bridge of ours that is to be removed.

    ``found`` and ``linux`` are ``{bridge: [port, ...]}`` for OVS and Linux bridges. Removing the
    bridge would delete (OVS) or release (Linux) a port someone else put there on purpose.
    """
    tables = (found or {}, linux or {})
    if not any(tables):
        return
    bridges, parts, kinds, marks, hints, count = [], [], [], [], [], 0
    for (label, mark, hint), table in zip(_FOREIGN, tables):
        for bridge, ports in sorted(table.items()):
            bridges.append(bridge)
            parts.append('port%s %s on %s %s' % ('s' if len(ports) > 1 else '', ', '.join(ports), label, bridge))
            count += len(ports)
        if table:
            kinds.append(label)
            marks.append(mark)
            hints.append(hint)
    head = '%s %s' % ('bridges' if len(kinds) > 1 else kinds[0] + ('s' if len(bridges) > 1 else ''),
                      ', '.join(bridges))
    raise NotOwned('Failed to remove %s: %s %s not created by netwire.fabric (%s) and never deleted or released '
                   'with a bridge of ours. Move or delete %s by hand (%s), then rerun; this step changed nothing'
                   % (head, '; '.join(parts), 'are' if count > 1 else 'is', '; '.join(marks),
                      'them' if count > 1 else 'it', '; '.join(hints)),
                   foreign_ports=dict(tables[0], **tables[1]))
