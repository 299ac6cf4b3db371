# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""net_info's ``evpn``: BGP sessions and EVPN VNIs with their remote VTEPs, read from FRR's JSON output
(``vtysh -c '... json'``), never from its CLI text."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.netwire.fabric.plugins.module_utils._frr import config

SUMMARY = 'show bgp summary json'
VNIS = 'show evpn vni detail json'


def evpn_facts(runner, run_dir, conf_dir, vtysh=None):
    """``{available, reason, sessions, vnis}``. ``runner(argv)`` returns ``(rc, stdout, stderr)``; ``vtysh``
    is the program's path (None: not installed). FRR not running is reported, not an error."""
    facts = {'available': False, 'reason': None, 'sessions': {}, 'vnis': {}}
    if vtysh is None:
        facts['reason'] = 'vtysh is not installed (Debian package frr)'
        return facts
    p = {'run_dir': run_dir, 'conf_dir': conf_dir}
    for daemon in ('bgpd', 'zebra'):
        if not os.path.exists(os.path.join(run_dir, '%s.vty' % daemon)):
            facts['reason'] = 'no %s runs (no %s/%s.vty)' % (daemon, run_dir, daemon)
            return facts
    out = {}
    for key, command in (('sessions', SUMMARY), ('vnis', VNIS)):
        argv = config.vtysh_argv(p, command)
        argv[0] = vtysh
        rc, stdout, stderr = runner(argv)
        if rc != 0:
            facts['reason'] = '%s failed (status %d): %s' % (command, rc, (stderr or stdout).strip()[-500:])
            return facts
        try:
            out[key] = json.loads(stdout) if stdout.strip() else {}
        except ValueError as err:
            facts['reason'] = '%s printed no JSON: %s' % (command, err)
            return facts
    facts.update(available=True, sessions=config.bgp_sessions(out['sessions']), vnis=config.evpn_vnis(out['vnis']))
    return facts
