# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manager of one dnsmasq instance of ours (netwire.fabric.dnsmasq; host_network's plan key ``dns``).

The files come from the pure renderer (``config.py``), the process from the
daemon helper (``_daemon.Daemon``): a new configuration restarts dnsmasq, new
records or reservations only reload it (SIGHUP, same pid), ``state: absent``
stops our process (recognised by its cmdline) and removes the files that carry
our mark. A dnsmasq we did not start is never signalled.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._contract import Result
from ansible_collections.netwire.fabric.plugins.module_utils._daemon import Daemon, DaemonManager
from ansible_collections.netwire.fabric.plugins.module_utils._dns import config
from ansible_collections.netwire.fabric.plugins.module_utils._errors import failure

PROGRAM = 'dnsmasq'
DEFAULT_PROGRAM_PATH = '/usr/sbin/dnsmasq'
# dnsmasq drops root after binding: to the user Debian's dnsmasq-base makes, else nobody
USERS = ('dnsmasq', 'nobody')
SHARED_DIRS = {_names.ETC_DIR: 0o755, _names.DNSMASQ_DIR: 0o755, _names.RUN_DIR: 0o755, _names.STATE_DIR: 0o755}


def run_as():
    """``(user, group)`` dnsmasq runs as after binding, or ``(None, None)`` (stays root) without either user."""
    for user in USERS:
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            continue
        try:
            return user, grp.getgrgid(pw.pw_gid).gr_name
        except KeyError:
            return user, None
    return None, None


def instance(p, program, user=None, group=None, systemd=None):
    """The :class:`Daemon` of instance ``p`` (normalized parameters; only ``name`` for state=absent)."""
    paths = _names.dnsmasq_paths(p['name'])
    if p.get('state', 'present') == 'present':
        restart, reload_ = config.files(p, user, group)
    else:
        # absent: the same paths, whatever they hold (only marked files are removed)
        restart, reload_ = (dict((path, '') for path in group_) for group_ in config.file_paths(p['name']))
    return Daemon(PROGRAM, p['name'], config.program_argv(program, p['name']), paths['pidfile'],
                  files=restart, reload_files=reload_, dirs=SHARED_DIRS,
                  instance_dirs={paths['hosts_dir']: 0o755, paths['dhcp_dir']: 0o755},
                  runtime_files=[paths['leases']], forks=True, systemd=systemd)


class DnsmasqManager(DaemonManager):
    kind = 'dnsmasq'
    normalize = staticmethod(config.normalize)
    default_program = DEFAULT_PROGRAM_PATH

    def daemon(self):
        user, group = run_as()
        return instance(self.params, self.program(), user, group)

    def run(self):
        p = self.params
        if self.state == 'present':
            self.require([(PROGRAM, 'dnsmasq-base; never the package dnsmasq, which starts a system instance')])
            if self.ctx.link(p['interface']) is None:
                raise failure('manage', self.kind, self.name, "interface '%s' does not exist" % p['interface'])
        return self._converge(self.daemon(), self.state, config.view(p))

    def _converge(self, daemon, state, view):
        current, steps, actions = daemon.converge(state, self.check_mode)
        before = self.diff_state(current)
        after = {} if state == 'absent' else {'running': True, 'files': daemon.wanted()}
        changed = bool(steps)
        out = dict(view, running=state == 'present', pid=None if self.check_mode or state == 'absent'
                   else daemon.our_pid())
        return Result(changed=changed, actions=actions, diff={'before': before, 'after': after} if changed else None,
                      label=daemon.name, dnsmasq=out)

    @classmethod
    def purge(cls, ctx, keep=None):
        """Stop and remove our instances (a marked configuration) whose name ``keep`` does not hold."""
        results, removed = cls.purge_instances(ctx, keep, _names.DNSMASQ_DIR, '.conf', _names.dns_keep_name)
        results.append(cls._remove_empty_dir(ctx, removed))
        return [r for r in results if r.changed]

    @staticmethod
    def _remove_empty_dir(ctx, removed):
        """Remove our instances' directory once nothing is left in it (after the removal of ``removed``)."""
        directory = _names.DNSMASQ_DIR
        if not os.path.isdir(directory):
            return Result()
        theirs = set()
        for name in removed:
            paths = _names.dnsmasq_paths(name)
            theirs.update(os.path.basename(paths[k]) for k in ('conf', 'hosts_dir', 'dhcp_dir'))
        if set(os.listdir(directory)) - (theirs if ctx.check_mode else set()):
            return Result()
        if not ctx.check_mode:
            os.rmdir(directory)
        return Result(changed=True, actions=['remove directory %s' % directory], label=directory)
