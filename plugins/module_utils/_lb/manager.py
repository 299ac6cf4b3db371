# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manager of the entry point (netwire.fabric.haproxy_lb): HAProxy of ours and its watch of the catalog.

HAProxy runs master-worker in the foreground under the daemon helper (our
pidfile, the master's pid). Its configuration is a reload file: a changed one is
checked with ``haproxy -c`` first (nothing is written when it fails) and then
reloaded gracefully (SIGUSR2 to the master: the same pid, new workers, the old
ones finish their connections). Membership never touches it: the watch (a
small program of ours, ``watcher.py``, under the daemon helper) writes each
service's A records into the dnsmasq hosts dir of its network, dnsmasq reads
them by inotify and HAProxy's resolvers follow.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import subprocess
import tempfile

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._contract import Result
from ansible_collections.netwire.fabric.plugins.module_utils._daemon import (
    Daemon,
    DaemonManager,
    describe,
    find_program,
    read_text,
)
from ansible_collections.netwire.fabric.plugins.module_utils._errors import BackendError
from ansible_collections.netwire.fabric.plugins.module_utils._lb import config
from ansible_collections.netwire.fabric.plugins.module_utils._catalog import watch as catwatch

PROGRAM = 'haproxy'
DEFAULT_PROGRAM_PATH = '/usr/sbin/haproxy'
PYTHON = 'python3'
SHARED_DIRS = {_names.ETC_DIR: 0o755, _names.HAPROXY_DIR: 0o755, _names.RUN_DIR: 0o755}
RELOAD_ARGS = ('-sf', '-st', '-x')


class HaproxyDaemon(Daemon):
    """HAProxy's master re-executes itself on a reload with ``-sf <old workers>`` (and ``-x <socket>``) added to
    its argv: still ours."""

    def owns(self, cmdline):
        n = len(self.argv)
        if cmdline is None or cmdline[:n] != self.argv:
            return False
        rest = cmdline[n:]
        return not rest or rest[0] in RELOAD_ARGS and all(a in RELOAD_ARGS or a.isdigit() or a.startswith('/')
                                                          for a in rest)


def instances(p, haproxy, python, systemd=None):
    """``(haproxy, watch)`` daemons of entry point ``p`` (normalized; only ``name`` for absent)."""
    paths = _names.lb_paths(p['name'])
    present = p.get('state', 'present') == 'present'
    conf = config.conf_text(p) if present else ''
    lb = HaproxyDaemon('haproxy', p['name'], config.program_argv(haproxy, p['name']), paths['pidfile'],
                       reload_files={paths['conf']: conf}, dirs=SHARED_DIRS, runtime_files=[paths['socket']],
                       forks=False, reload_signal=signal.SIGUSR2, stop_timeout=10.0, settle=1.0, systemd=systemd)
    watch = catwatch.daemon('lbwatch', p['name'], paths, 'watch', config.watch_conf_text(p) if present else None,
                            python, SHARED_DIRS, systemd=systemd)
    return lb, watch


class HaproxyLbManager(DaemonManager):
    kind = 'haproxy_lb'
    normalize = staticmethod(config.normalize)
    default_program = DEFAULT_PROGRAM_PATH
    default_name = 'lb'

    def run(self):
        if self.state == 'absent':
            return self.absent()
        p = self.params
        self.require(((PROGRAM, 'haproxy'), (PYTHON, 'python3')))
        for fe in p['frontends']:
            hosts_dir = os.path.dirname(_names.service_hosts_file(fe['bridge'], fe['service']))
            if not os.path.isdir(hosts_dir):
                msg = ("service %s: no dnsmasq of ours serves network bridge %s on this host (%s is missing): the "
                       "entry point resolves its backends there (netwire_dns)" % (fe['service'], fe['bridge'],
                                                                                  hosts_dir))
                if not self.check_mode:
                    raise self.fail('manage', msg)
                self.warnings.append(msg)
        lb, watch = instances(p, self.program(), find_program(PYTHON))
        w_current, w_steps = self._plan(watch)
        current, steps = self._plan(lb)
        conf_path = _names.lb_paths(p['name'])['conf']
        if any(s.op == 'write' and s.target == conf_path for s in steps):
            self.check_config(lb.wanted()[conf_path])
        if not self.check_mode:
            watch.apply(w_steps)
            lb.apply(steps)
        actions = [describe(s, watch.what) for s in w_steps] + [describe(s, lb.what) for s in steps]
        changed = bool(actions)
        before = self.diff_state(current)
        if w_current['pid'] is None and before:
            before['watch'] = False
        diff = {'before': before, 'after': {'running': True, 'files': dict(lb.wanted(), **watch.wanted())}}
        out = dict(config.view(p), running=True, pid=None if self.check_mode else lb.our_pid(),
                   watch_pid=None if self.check_mode else watch.our_pid())
        return Result(changed=changed, actions=actions, diff=diff if changed else None, warnings=self.warnings,
                      label=p['name'], haproxy_lb=out)

    @staticmethod
    def _plan(daemon):
        current = daemon.read()
        return current, daemon.plan(current, 'present')

    def check_config(self, text):
        """``haproxy -c`` on the configuration we would write; its failure stops the run before any write."""
        fd, path = tempfile.mkstemp(prefix='netwire-haproxy-', suffix='.cfg')
        try:
            with os.fdopen(fd, 'w') as f:
                f.write(text)
            proc = subprocess.run([self.program(), '-c', '-f', path],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30, check=False)
        finally:
            os.unlink(path)
        if proc.returncode != 0:
            raise self.fail('check', 'haproxy -c refused the configuration (nothing was written): %s'
                            % proc.stdout.decode('utf-8', 'replace').strip()[-2000:], BackendError)

    def absent(self):
        p = self.params
        paths = _names.lb_paths(p['name'])
        lb, watch = instances(dict(p, state='absent'), self.program(), find_program(PYTHON) or '/usr/bin/python3')
        actions, before = [], {}
        service_files = catwatch.ours_listed(read_text(paths['watch_conf']))
        for daemon in (lb, watch):   # HAProxy first: it stops resolving before its names go
            current = daemon.read()
            steps = daemon.plan(current, 'absent')
            if not self.check_mode:
                daemon.apply(steps)
            actions += [describe(s, daemon.what) for s in steps]
            before.update(self.diff_state(current))
        for path in service_files:
            if not self.check_mode:
                os.unlink(path)
            actions.append('remove %s' % path)
        if not self.check_mode:
            try:
                if not os.listdir(_names.HAPROXY_DIR):
                    os.rmdir(_names.HAPROXY_DIR)
            except OSError:
                pass
        changed = bool(actions)
        return Result(changed=changed, actions=actions, diff={'before': before, 'after': {}} if changed else None,
                      warnings=self.warnings, label=p['name'], haproxy_lb={'name': p['name'], 'running': False})

    @classmethod
    def purge(cls, ctx, keep=None):
        results = cls.purge_instances(ctx, keep, _names.HAPROXY_DIR, '.cfg')[0]
        return [r for r in results if r.changed]
