# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one exception hierarchy.

Managers raise these; a module's ``main()`` catches :class:`NetwireError` once
and turns it into ``fail_json(msg=str(err), **err.details)``. Messages follow
"Failed to <verb> <kind> '<name>': <reason>" so the operator sees what and why.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class NetwireError(Exception):
    """Base class: anything a module reports as a clean failure."""

    def __init__(self, msg, **details):
        super(NetwireError, self).__init__(msg)
        self.msg = msg
        self.details = details

    def __str__(self):
        return self.msg


class InvalidParameter(NetwireError):
    """User input is malformed or inconsistent; nothing was touched."""


class NotOwned(NetwireError):
    """An object exists under the requested name but the collection did not create it."""


class MissingDependency(NetwireError):
    """A host-side library, daemon or kernel feature the request needs is absent."""


class BackendError(NetwireError):
    """The kernel, OVSDB, nftables or Docker refused an operation."""


def failure(verb, kind, name, reason, cls=NetwireError, **details):
    """Build an error with the collection's standard message shape."""
    return cls("Failed to %s %s '%s': %s" % (verb, kind, name, reason), **details)
