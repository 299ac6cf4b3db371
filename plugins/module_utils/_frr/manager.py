# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manager of this host's FRR BGP EVPN control plane (netwire.fabric.frr).

The files come from the pure renderer (``config.py``), the processes from the
daemon helper (``_daemon.Daemon``):

* a host without systemd (the lab) runs zebra and bgpd of ours, each a
  :class:`Daemon` (pidfile, exact cmdline); zebra's instance carries the files:
  the daemons file (restart-relevant) and frr.conf (applied with
  ``frr-reload.py``, never by a signal);
* a host with systemd runs the package's ``frr.service`` with our files.

Either way a host's existing FRR configuration that is neither ours (the mark
line) nor the package's untouched default is a finding, never overwritten, and
a process we did not start is never signalled.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._contract import Result
from ansible_collections.netwire.fabric.plugins.module_utils._daemon import (
    DaemonManager,
    SYSTEMD_RUNNING,
    Daemon,
    Step,
    describe,
    find_program,
    is_marked,
    read_text,
)
from ansible_collections.netwire.fabric.plugins.module_utils._errors import (
    MissingDependency,
    NotOwned,
    failure,
)
from ansible_collections.netwire.fabric.plugins.module_utils._frr import config

KIND = 'frr'
NAME = 'bgp-evpn'   # the one instance per host, in messages
PACKAGES = 'Debian packages frr and frr-pythontools'


def instances(p, systemd):
    """The :class:`Daemon` objects of our FRR: ``[zebra, bgpd]``, or ``[frr.service]`` on a systemd host."""
    fp = config.paths(p)
    if p['state'] == 'present':
        restart, reload_ = {fp['daemons']: config.render_daemons(p)}, {fp['conf']: config.render_conf(p)}
    else:
        # absent: the same paths, whatever they hold (only marked files are removed)
        restart, reload_ = {fp['daemons']: ''}, {fp['conf']: ''}
    if systemd:
        return [Daemon('frr', 'frr', [os.path.join(p['program_dir'], 'frrinit.sh'), 'start'],
                       os.path.join(p['run_dir'], 'watchfrr.pid'), files=restart, reload_files=reload_,
                       dirs={p['conf_dir']: 0o755}, systemd=True, service=_names.FRR_SERVICE)]
    zebra = Daemon('frr', 'zebra', config.daemon_argv(p, 'zebra'), fp['zebra_pid'], files=restart,
                   reload_files=reload_, dirs={p['conf_dir']: 0o755, p['run_dir']: 0o755},
                   owners={p['run_dir']: ('frr', 'frr')}, forks=True, systemd=False)
    bgpd = Daemon('frr', 'bgpd', config.daemon_argv(p, 'bgpd'), fp['bgpd_pid'], forks=True, systemd=False)
    return [zebra, bgpd]


def plan(p, daemons, currents):
    """The steps of every instance (pure): ``[(daemon, steps)]`` in the order to apply, and whether our
    frr.conf must be applied to the running daemons at the end (``frr-reload.py``).

    ``currents``: each daemon's :meth:`Daemon.read`. The package's untouched default files may be replaced;
    a file or a pidfile process of someone else's is a finding (NotOwned).
    """
    fp = config.paths(p)
    first = currents[0]['files']
    if p['state'] == 'present':
        reason = config.foreign_config(first.get(fp['conf']), first.get(fp['daemons']))
        if reason:
            raise failure('manage', KIND, NAME, "this host's FRR is configured for another purpose (%s); netwire"
                          " never overwrites it" % reason, NotOwned)
        for path in (fp['conf'], fp['daemons']):
            if first.get(path) is not None and not is_marked(first[path]):
                first[path] = None   # the package's default: replaced by ours
    for d, current in zip(daemons, currents):
        if current.get('foreign_pid'):
            raise failure('manage', KIND, NAME, 'pidfile %s names process %d, which is not our %s (its command'
                          ' line differs); it is left alone' % (d.pidfile, current['foreign_pid'], d.name), NotOwned)
    if p['state'] == 'absent':
        # bgpd stops before zebra
        return [(d, d.plan(c, 'absent')) for d, c in reversed(list(zip(daemons, currents)))], False
    out, apply_conf = [], False
    for d, c in zip(daemons, currents):
        steps = d.plan(c, 'present')
        # frr.conf is applied by frr-reload.py (a signal does not reload FRR); systemd's reload runs it itself
        if not d.systemd:
            apply_conf = apply_conf or any(s.op in ('start', 'restart', 'reload') for s in steps)
            steps = [s for s in steps if s.op != 'reload']
        out.append((d, steps))
    return out, apply_conf


class FrrManager(DaemonManager):
    kind = KIND
    normalize = staticmethod(config.normalize)
    default_name = NAME

    def __init__(self, ctx, params):
        super(FrrManager, self).__init__(ctx, params)
        self.systemd = os.path.isdir(SYSTEMD_RUNNING)

    def run(self):
        p = self.params
        if self.state == 'present':
            missing = [prog for prog in ([os.path.join(p['program_dir'], d) for d in config.DAEMONS]
                                         + [config.reload_argv(p)[0], 'vtysh']) if find_program(prog) is None]
            if missing:
                raise failure('manage', self.kind, NAME, '%s not installed (%s)' % (', '.join(missing), PACKAGES),
                              MissingDependency)
        daemons = instances(p, self.systemd)
        currents = [d.read() for d in daemons]
        before = self.diff_of_daemons(currents)
        planned, apply_conf = plan(p, daemons, [dict(c, files=dict(c['files'])) for c in currents])
        actions = []
        for d, steps in planned:
            actions += [describe(s, d.what) for s in steps]
        reload_step = Step('run', tuple(config.reload_argv(p)), None)
        if apply_conf:
            actions.append(describe(reload_step, 'frr'))
        if not self.check_mode:
            for d, steps in planned:
                d.apply(steps)
            if apply_conf:
                daemons[0].run(reload_step.target)
        changed = bool(actions)
        after = {} if self.state == 'absent' else {'running': True, 'files': daemons[0].wanted()}
        out = dict(config.view(p), running=self.state == 'present')
        if not self.check_mode and self.state == 'present' and not self.systemd:
            out['pids'] = dict((d.name, d.our_pid()) for d in daemons)
        return Result(changed=changed, actions=actions, diff={'before': before, 'after': after} if changed else None,
                      label=NAME, frr=out)

    @classmethod
    def purge(cls, ctx, keep=None):
        """Our FRR (state absent) unless ``keep`` names it (``_names.FRR_KEEP_NAME``). Only a host with a file of
        ours in /etc/frr (or our hash) is touched: the package's own FRR, or none, is never stopped here."""
        if keep is not None and _names.FRR_KEEP_NAME in keep:
            return []
        fp = _names.frr_paths()
        ours = [fp['conf'], fp['daemons']] + [os.path.join(_names.FRR_RUN_DIR, '%s.hash' % d)
                                              for d in config.DAEMONS + ('watchfrr',)]
        if not any(is_marked(read_text(path)) for path in ours):
            return []
        result = cls(ctx, {'state': 'absent'}).run()
        return [result] if result.changed else []

    @staticmethod
    def diff_of_daemons(currents):
        """The diff's view of zebra and bgpd together (DaemonManager.diff_state's, for several daemons)."""
        files = {}
        for c in currents:
            files.update((path, text) for path, text in c['files'].items() if text is not None)
        running = any(c['pid'] is not None or c.get('active') for c in currents)
        if not files and not running:
            return {}
        return {'running': running, 'files': files}
