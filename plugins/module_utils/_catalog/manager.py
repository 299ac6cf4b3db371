# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manager of one host's registration in the catalog (netwire.fabric.service_registration).

The declarative registrator: the host's containers' services become keys
``<prefix>/services/<service>/<host>/<container>`` = ``address:port``, all held by
ONE lease of the host (its ID derived from the host name, so every run finds
it), kept alive by ``etcdctl lease keep-alive`` run by the daemon helper. When
the host (or its keep-alive) dies, the lease expires after ``ttl`` seconds and
etcd deletes every key of the host at once. Writes and deletes go through etcd's
v3 JSON gateway in one transaction per run; a catalog without quorum is a clear
error, and nothing is written. ``state: absent`` stops the keep-alive and
revokes the lease (its keys go with it).

The registration also runs the host's names watch (``names.py``): the services'
live members as A records in each of the host's dnsmasq instances whose zone may
reach the service's network (the model's ``names``); absent, or without names,
it is stopped and its record files removed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._catalog import names as svcnames
from ansible_collections.netwire.fabric.plugins.module_utils._catalog import registration as reg
from ansible_collections.netwire.fabric.plugins.module_utils._catalog import watch as catwatch
from ansible_collections.netwire.fabric.plugins.module_utils._catalog.etcdv3 import CatalogError, Gateway, NoQuorum
from ansible_collections.netwire.fabric.plugins.module_utils._contract import Result
from ansible_collections.netwire.fabric.plugins.module_utils._daemon import (
    Daemon,
    DaemonManager,
    Step,
    describe,
    find_program,
    is_marked,
    read_text,
)
from ansible_collections.netwire.fabric.plugins.module_utils._errors import BackendError

PROGRAM = 'etcdctl'
PYTHON = 'python3'
DEFAULT_PROGRAM_PATH = '/usr/bin/etcdctl'
SHARED_DIRS = {_names.ETC_DIR: 0o755, _names.REGISTRATION_DIR: 0o755, _names.RUN_DIR: 0o755}


def keepalive(p, program, systemd=None):
    """The :class:`Daemon` of the host's keep-alive (``p`` normalized; for absent only host and prefix)."""
    paths = _names.registration_paths(p['host'])
    files = {paths['conf']: reg.record_text(p) if p.get('state', 'present') == 'present' else ''}
    argv = reg.keepalive_argv(program, p) if p.get('endpoints') else [program, 'lease', 'keep-alive']
    return Daemon('keepalive', p['host'], argv, paths['pidfile'], files=files, dirs=SHARED_DIRS, forks=False,
                  quiet=True, systemd=systemd)


def normalize(params):
    p = reg.normalize(params)
    if p.get('state', 'present') == 'present':
        p['names'] = svcnames.normalize(params.get('names'))
    return p


def names_watch(p):
    """The host's names watch and the record files its configuration on the host lists (ours only)."""
    daemon = svcnames.watch(p, find_program(PYTHON) or '/usr/bin/python3', SHARED_DIRS)
    current = daemon.read()
    old = catwatch.ours_listed(current['files'].get(_names.registration_paths(p['host'])['names_conf']))
    return daemon, current, old


class ServiceRegistrationManager(DaemonManager):
    kind = 'service_registration'
    normalize = staticmethod(normalize)
    _names_before = ()
    _names_pid = None
    default_program = DEFAULT_PROGRAM_PATH

    def gateway(self, endpoints):
        return Gateway(endpoints)

    def _leader(self, gw, verb):
        try:
            return gw.leader()
        except NoQuorum as err:
            raise self.fail(verb, 'the catalog has no quorum: no member answers with a leader (%s). Nothing was '
                            'written: start the stopped members (a majority must run); the keys already there stay '
                            'until their lease expires' % err.msg)

    def run(self):
        if self.state == 'absent':
            return self.absent()
        p = self.params
        self.require([(PROGRAM, 'etcd-client')] + ([(PYTHON, 'python3')] if p['names'] else []), 'register')
        gw = self.gateway(p['endpoints'])
        self._leader(gw, 'register')
        try:
            left, granted = gw.lease_ttl(p['lease'])
            kvs = gw.range_prefix(_names.services_prefix(p['prefix']))
        except CatalogError as err:
            raise self.fail('register', 'the catalog did not answer: %s' % err.msg)
        regrant = left > 0 and granted != p['ttl']
        fresh = left <= 0 or regrant
        puts, deletes, foreign = reg.plan_keys(p, kvs, fresh_lease=fresh)
        for key in foreign:
            self.warnings.append('catalog key %s is under host %s but not held by its lease: it is left alone'
                                 % (key, p['host']))
        lease = '%x' % p['lease']
        actions = []
        if regrant:
            actions.append('revoke lease %s (ttl %d s, not %d s): its keys go with it' % (lease, granted, p['ttl']))
        if fresh:
            actions.append('grant lease %s (ttl %d s)' % (lease, p['ttl']))
        actions += ['put %s = %s (lease %s)' % (k, puts[k], lease) for k in sorted(puts)]
        actions += ['delete %s' % k for k in deletes]
        daemon = keepalive(p, self.program())
        current = daemon.read()
        steps = daemon.plan(current, 'present')
        if fresh and current['pid'] is not None and not any(s.op in ('restart', 'start') for s in steps):
            # a keep-alive of a lease that expired has exited, or is about to: start it anew
            steps.append(Step('restart', current['pid'], None))
        if not self.check_mode:
            try:
                if regrant:
                    gw.revoke(p['lease'])
                if fresh:
                    gw.grant(p['lease'], p['ttl'])
                if puts or deletes:
                    gw.txn(puts, deletes, p['lease'])
            except CatalogError as err:
                raise self.fail('register', 'the catalog refused the change: %s' % err.msg, BackendError)
            daemon.apply(steps)
        actions += [describe(s, daemon.what) for s in steps]
        actions += self._names(p)
        have = dict((kv['key'], kv['value']) for kv in reg.own_keys(p, kvs))
        changed = bool(actions)
        after_keys = dict((k, val) for k, val in have.items() if k not in deletes)
        after_keys.update(reg.wanted(p))
        diff = {'before': {'keys': have, 'keepalive': current['pid'] is not None, 'names': self._names_before},
                'after': {'keys': after_keys, 'keepalive': True,
                          'names': sorted(svcnames.files(p['names']))}} if changed else None
        out = {'host': p['host'], 'prefix': p['prefix'], 'lease': lease, 'ttl': p['ttl'], 'keys': reg.wanted(p),
               'endpoint': gw.endpoint, 'keepalive_pid': None if self.check_mode else daemon.our_pid(),
               'names': p['names'], 'names_pid': None if self.check_mode else self._names_pid}
        return Result(changed=changed, actions=actions, diff=diff, warnings=self.warnings, label=p['host'],
                      registration=out)

    def _names(self, p):
        """Converge the names watch to ``p['names']`` (none: stopped, its files gone); the actions."""
        watch, current, old = names_watch(p)
        want = svcnames.files(p.get('names') or [])
        steps = watch.plan(current, 'present' if want else 'absent')
        stale = [f for f in old if f not in want]
        for path in sorted(want):
            if not os.path.isdir(os.path.dirname(path)):
                self.warnings.append('%s is missing: no dnsmasq of ours serves that bridge here yet, so %s is not '
                                     'answered there' % (os.path.dirname(path), want[path][1]))
        if not self.check_mode:
            watch.apply(steps)   # stopped (or restarted on its new files) before its old files go
            for path in stale:
                os.unlink(path)
        self._names_before = sorted(old)
        self._names_pid = None if self.check_mode or not want else watch.our_pid()
        return [describe(s, watch.what) for s in steps] + ['remove %s' % f for f in stale]

    def absent(self):
        p = self.params
        paths = _names.registration_paths(p['host'])
        text = read_text(paths['conf'])
        record = reg.parse_record(text) if is_marked(text) else None
        if record and record.get('endpoints'):
            p = dict(p, endpoints=record['endpoints'], prefix=record.get('prefix') or p['prefix'])
            p['lease'] = _names.lease_id(p['prefix'], p['host'])
        daemon = keepalive(dict(p, state='absent'), self.program())
        current = daemon.read()
        steps = daemon.plan(current, 'absent')
        actions = []
        gw = None
        if record and record.get('endpoints'):
            gw = self.gateway(record['endpoints'])
            try:
                gw.leader()
                left = gw.lease_ttl(p['lease'])[0]
            except CatalogError as err:
                left = 0
                self.warnings.append('the catalog did not answer (%s): the keys of host %s expire with its lease'
                                     ' within its ttl' % (err.msg, p['host']))
            if left > 0:
                actions.append('revoke lease %x: the keys of host %s go with it' % (p['lease'], p['host']))
        names_actions = self._names(dict(p, names=[]))
        if not self.check_mode:
            daemon.apply(steps)
            if actions:
                try:
                    gw.revoke(p['lease'])
                except CatalogError as err:
                    self.warnings.append('revoking lease %x failed (%s): the keys of host %s expire with it'
                                         % (p['lease'], err.msg, p['host']))
            self._remove_empty_dir()
        actions = [describe(s, daemon.what) for s in steps] + actions + names_actions
        changed = bool(actions)
        return Result(changed=changed, actions=actions, diff={'before': self.diff_state(current), 'after': {}}
                      if changed else None, warnings=self.warnings, label=p['host'],
                      registration={'host': p['host'], 'prefix': p['prefix'], 'lease': '%x' % p['lease'],
                                    'keys': {}, 'keepalive_pid': None})

    @staticmethod
    def _remove_empty_dir():
        try:
            if not os.listdir(_names.REGISTRATION_DIR):
                os.rmdir(_names.REGISTRATION_DIR)
        except OSError:
            pass

    @classmethod
    def purge(cls, ctx, keep=None):
        """Remove our registrations (a marked record) whose host ``keep`` does not hold."""
        results = cls.purge_instances(ctx, keep, _names.REGISTRATION_DIR, '.json')[0]
        return [r for r in results if r.changed]
