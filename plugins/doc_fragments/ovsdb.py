# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """OVSDB options; the argument specs are ``_specs.OVSDB_SOCKET`` and ``_specs.OVSDB_TIMEOUT``.

    ``netwire.fabric.ovsdb``: the socket and the transaction timeout (modules that
    change OVS). ``netwire.fabric.ovsdb.socket``: the socket only. The default is
    ``_names.OVSDB_SOCKET``.
    """

    SOCKET = r"""
options:
  ovsdb_socket:
    description:
      - Path of the OVSDB server's unix socket (or an OVSDB remote such as V(tcp:127.0.0.1:6640)).
    type: str
    default: /run/openvswitch/db.sock
"""

    TIMEOUT = r"""
options:
  timeout:
    description:
      - Seconds to wait for OVSDB and for ovs-vswitchd to apply the transaction.
    type: int
    default: 20
"""


def _options(*fragments):
    """One fragment with the options of ``fragments`` (each one ``options:`` block)."""
    return '\noptions:\n' + ''.join(text.split('\noptions:\n', 1)[1] for text in fragments)


# Joined after the class: ansible-test's yamllint reads every assignment in the class body as one
# string literal (it crashed on SOCKET + ...), and it lints SOCKET and TIMEOUT there.
ModuleDocFragment.DOCUMENTATION = _options(ModuleDocFragment.SOCKET, ModuleDocFragment.TIMEOUT)
