# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manager of one etcd member of ours (netwire.fabric.etcd_member): the catalog's members.

The configuration comes from the pure renderer (``config.py``), the process from
the daemon helper (``_daemon.Daemon``, no fork: we start etcd in a new session
and keep its pidfile; a systemd unit where systemd runs). The bootstrap rule:
``initial-cluster-state: new`` only for an empty data directory; once etcd has
written its data there the file says ``existing`` (without a restart: etcd
never reads ``initial-*`` again). Health is etcd's own: ``etcdctl endpoint
health``/``endpoint status``/``member list`` with ``-w json``, waited for at most
``wait`` seconds; a member without quorum is an error that says so, and nothing
is ever re-initialized. ``state: absent`` stops our process (recognised by its
cmdline), removes our files and the data directory (ours). An etcd we did not
start is never signalled.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import time

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._contract import Result
from ansible_collections.netwire.fabric.plugins.module_utils._daemon import (
    DaemonManager,
    Daemon,
    find_program,
    is_marked,
    read_text,
)
from ansible_collections.netwire.fabric.plugins.module_utils._etcd import config
from ansible_collections.netwire.fabric.plugins.module_utils._errors import NotOwned

PROGRAM = 'etcd'
CTL = 'etcdctl'
DEFAULT_PROGRAM_PATH = '/usr/bin/etcd'
SHARED_DIRS = {_names.ETC_DIR: 0o755, _names.ETCD_DIR: 0o755, _names.RUN_DIR: 0o755, _names.STATE_DIR: 0o755,
               _names.ETCD_STATE_DIR: 0o700}
CTL_TIMEOUT = 2  # seconds etcdctl waits for one answer
BOOTSTRAP_WAIT = 10.0  # seconds a freshly started member has to write its data directory


def data_entries(path):
    """The names in a data directory, or None when it does not exist."""
    try:
        return sorted(os.listdir(path))
    except OSError:
        return None


def instance(p, program, state='new', state_dirs=None, systemd=None):
    """The :class:`Daemon` of member ``p`` (normalized parameters; for state=absent only ``name``), its
    configuration saying ``initial-cluster-state: <state>``."""
    paths = _names.etcd_paths(p['name'])
    files, hashed = {paths['conf']: ''}, {}
    if p.get('state', 'present') == 'present':
        text = config.conf_text(p, state)
        files, hashed = {paths['conf']: text}, {paths['conf']: config.hash_text(text)}
        state_dirs = {p['data_dir']: 0o700}
    return Daemon(PROGRAM, p['name'], config.program_argv(program, p['name']), paths['pidfile'], files=files,
                  hash_files=hashed, dirs=SHARED_DIRS, state_dirs=state_dirs, forks=False, stop_timeout=10.0,
                  systemd=systemd)


class EtcdMemberManager(DaemonManager):
    kind = 'etcd_member'
    normalize = staticmethod(config.normalize)
    default_program = DEFAULT_PROGRAM_PATH

    def run(self):
        if self.state == 'absent':
            return self.absent()
        p = self.params
        self.require(((PROGRAM, 'etcd-server'), (CTL, 'etcd-client')))
        try:
            state = config.bootstrap(data_entries(p['data_dir']), p['data_dir'])
        except NotOwned as err:
            raise self.fail('manage', err.msg, NotOwned)
        daemon = instance(p, self.program(), state)
        current, steps, actions = daemon.converge('present', self.check_mode)
        final = daemon
        if state == 'new' and not self.check_mode:
            # etcd has bootstrapped (or is bootstrapping) its data directory: from now on it is an existing member
            final, more = self._bootstrapped(p)
            steps, actions = steps + more[0], actions + more[1]
        out = dict(config.view(p), running=True, bootstrap=state, pid=None)
        if not self.check_mode:
            out['pid'] = final.our_pid()
        if p.get('wait') and (not self.check_mode or (current['pid'] or current.get('active')) and not steps):
            out['health'] = self.health(p, float(p['wait']))
        changed = bool(steps)
        before = self.diff_state(current)
        after = {'running': True, 'files': final.wanted()}
        return Result(changed=changed, actions=actions, diff={'before': before, 'after': after} if changed else None,
                      warnings=self.warnings, label=self.name, etcd_member=out)

    def _bootstrapped(self, p):
        """Wait (bounded) until the new member has written its data directory, then write the configuration
        with ``initial-cluster-state: existing`` (its restart hash is the same: no restart)."""
        deadline = time.time() + BOOTSTRAP_WAIT
        while time.time() < deadline and 'member' not in (data_entries(p['data_dir']) or []):
            time.sleep(0.1)
        daemon = instance(p, self.program(), 'existing')
        if 'member' not in (data_entries(p['data_dir']) or []):
            return daemon, ([], [])
        _current, steps, actions = daemon.converge('present', False)
        return daemon, (steps, ['%s (the member has its data: initial-cluster-state existing)' % a for a in actions])

    # ------------------------------------------------------------ health (etcd's own tools, JSON)
    def ctl(self, p, *args):
        argv = [find_program(CTL) or CTL, '--endpoints=%s' % p['client_url'], '--dial-timeout=%ds' % CTL_TIMEOUT,
                '--command-timeout=%ds' % CTL_TIMEOUT, '-w', 'json'] + list(args)
        env = dict(os.environ, ETCDCTL_API='3')
        try:
            proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False,
                                  timeout=CTL_TIMEOUT * 3 + 5)
        except subprocess.TimeoutExpired:
            return ''
        return proc.stdout.decode('utf-8', 'replace')

    def health(self, p, wait):
        """Wait at most ``wait`` seconds until the member is healthy (a quorum read answers); its status and
        the member list, or an error that says what is wrong (never a re-initialization)."""
        deadline = time.time() + wait
        while True:
            healthy, error = config.parse_health(self.ctl(p, 'endpoint', 'health'))
            if healthy or time.time() >= deadline:
                break
            time.sleep(0.5)
        status = config.parse_status(self.ctl(p, 'endpoint', 'status'))
        members = config.parse_members(self.ctl(p, 'member', 'list'))
        if healthy and status is not None:
            self._compare(p, members)
            return dict(status, healthy=True, members=members)
        n = len(members) if members else len(p['initial_cluster'])
        if status is not None:
            raise self.fail('check', 'the cluster has no quorum: member %s (id %s) runs but has no leader (%s);'
                            ' %d of its %d members must run. Nothing was re-initialized: start the stopped members'
                            ' and the cluster recovers with its data'
                            % (self.name, status['id'], '; '.join(status['errors'] + [error or '']).strip('; ')
                               or 'no leader', config.quorum(n), n))
        raise self.fail('check', 'the member does not answer on %s within %d s (%s). A new cluster forms only when'
                        ' %d of the %d members of initial_cluster run: start them in the same play; its output is'
                        ' in %s' % (p['client_url'], wait, error or 'no answer', config.quorum(n), n,
                                    _names.etcd_paths(self.name)['pidfile'][:-4] + '.log'))

    def _compare(self, p, members):
        """Warn when the live cluster is not initial_cluster (membership changes are etcdctl member add/remove)."""
        if members is None:
            return
        live = sorted('%s=%s' % (m['name'], ','.join(m['peer_urls'])) for m in members)
        if live != p['initial_cluster']:
            self.warnings.append('etcd member %s: the cluster\'s members (%s) are not initial_cluster (%s);'
                                 ' etcd_member never changes the membership of a running cluster (etcdctl member'
                                 ' add/remove)' % (self.name, ', '.join(live), ', '.join(p['initial_cluster'])))

    # ------------------------------------------------------------ absent
    def absent(self):
        p = self.params
        paths = _names.etcd_paths(self.name)
        conf = read_text(paths['conf'])
        data_dir = (config.conf_data_dir(conf) if is_marked(conf) else None) or p['data_dir']
        state_dirs = {}
        entries = data_entries(data_dir)
        if entries is not None:
            ours = is_marked(conf) or os.path.dirname(data_dir) == _names.ETCD_STATE_DIR
            if not ours:
                self.warnings.append('data_dir %s is left alone: no configuration of ours names it' % data_dir)
            elif any(e not in config.DATA_ENTRIES for e in entries):
                self.warnings.append('data_dir %s is left alone: it holds files that are not an etcd member\'s'
                                     % data_dir)
            else:
                state_dirs[data_dir] = 0o700
        daemon = instance(dict(p, state='absent'), self.program(), state_dirs=state_dirs)
        current, steps, actions = daemon.converge('absent', self.check_mode)
        removed = self._remove_empty_dirs(steps)
        before = self.diff_state(current)
        changed = bool(steps or removed)
        return Result(changed=changed, actions=actions + removed,
                      diff={'before': before, 'after': {}} if changed else None, warnings=self.warnings,
                      label=self.name, etcd_member=dict(config.view(p), data_dir=data_dir, running=False, pid=None))

    def _remove_empty_dirs(self, steps):
        """Our members' shared directories go once nothing is left in them."""
        gone = set(s.target for s in steps if s.op in ('remove', 'forget', 'purge'))
        actions = []
        for d in (_names.ETCD_DIR, _names.ETCD_STATE_DIR):
            entries = data_entries(d)
            if entries is None or any(os.path.join(d, e) not in gone for e in entries):
                continue
            if not self.check_mode:
                os.rmdir(d)
            actions.append('remove directory %s' % d)
        return actions

    @classmethod
    def purge(cls, ctx, keep=None):
        """Stop and remove our members (a marked configuration) whose name ``keep`` does not hold."""
        results = cls.purge_instances(ctx, keep, _names.ETCD_DIR, '.yml')[0]
        return [r for r in results if r.changed]
