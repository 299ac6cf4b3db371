# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manager of one WireGuard device of ours (netwire.fabric.wireguard).

The device is the kernel's WireGuard (a ``wireguard`` link made over netlink)
when the kernel has it, else the TUN device of a ``wireguard-go`` that the
daemon helper (``_daemon.Daemon``: pidfile, exact command line, our pids only;
a systemd unit on systemd hosts) starts and supervises. Both are configured the
same way: our configuration file (``config.render``) goes to ``wg syncconf``
with the private key added on its standard input, and ``wg showconf`` is read
back to compare. The device carries the alias ``netwire:wireguard``; a device
without it is never changed or deleted. The private key is generated once
(``wg genkey``, mode 0600) and never leaves the host: only its public key is
returned.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import subprocess
import time

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._contract import Result
from ansible_collections.netwire.fabric.plugins.module_utils._daemon import (
    DaemonManager,
    Daemon,
    describe as describe_daemon_step,
    find_program,
    is_marked,
    marked,
    read_text,
    write_atomic,
)
from ansible_collections.netwire.fabric.plugins.module_utils._daemon import Step as DaemonStep
from ansible_collections.netwire.fabric.plugins.module_utils._errors import (
    BackendError,
    InvalidParameter,
    MissingDependency,
    NotOwned,
)
from ansible_collections.netwire.fabric.plugins.module_utils._linux import linkops
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netlink import probe_link_kind
from ansible_collections.netwire.fabric.plugins.module_utils._wireguard import config

WG = 'wg'
WG_TOOLS = [(WG, 'wireguard-tools')]  # the program and its Debian package
WIREGUARD_GO = 'wireguard-go'
DEFAULT_WIREGUARD_GO = '/usr/bin/wireguard-go'
SHARED_DIRS = {_names.RUN_DIR: 0o755}
WG_TIMEOUT = 30
READY_TIMEOUT = 10.0  # wireguard-go: its device and UAPI socket appear within this
DEFAULT_MTU = 1420    # what both the kernel and wireguard-go give a new device
USERSPACE_WARNING = ('WireGuard device %s runs in userspace (wireguard-go): this kernel has no WireGuard module.'
                     ' Userspace WireGuard is slower than the kernel\'s (a kernel with CONFIG_WIREGUARD uses it).')


def kernel_has_wireguard():
    """True/False: can this kernel create a ``wireguard`` link (a probe in a throwaway namespace, safe in check
    mode); when the probe cannot run, whether the module is loaded."""
    supported = probe_link_kind(config.KERNEL_KIND)
    if supported is None:
        return os.path.isdir('/sys/module/wireguard')
    return supported


class WireguardManager(DaemonManager):
    kind = 'WireGuard device'
    normalize = staticmethod(config.normalize)

    def __init__(self, ctx, params):
        super(WireguardManager, self).__init__(ctx, params)
        self.paths = _names.wireguard_paths(self.name)
        self._daemon = None

    # ------------------------------------------------------------ programs
    def wg(self, args, data=None, verb='run wg for'):
        self.require(WG_TOOLS)
        program = find_program(WG)
        proc = subprocess.run([program] + list(args), input=(data or '').encode('utf-8'), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=WG_TIMEOUT, check=False)
        if proc.returncode != 0:
            raise self.fail(verb, 'wg %s: %s' % (args[0], proc.stderr.decode('utf-8', 'replace').strip()[-500:]))
        return proc.stdout.decode('utf-8', 'replace')

    def daemon(self):
        """Our wireguard-go for this device (its argv is how we recognise the process)."""
        if self._daemon is None:
            program = find_program(WIREGUARD_GO) or DEFAULT_WIREGUARD_GO
            self._daemon = Daemon(WIREGUARD_GO, self.name, [program, '-f', self.name], self.paths['pidfile'],
                                  dirs=SHARED_DIRS, forks=False)
        return self._daemon

    # ------------------------------------------------------------ read
    def read_key(self):
        """The key file's private key (None without the file); a file that holds no key is an error."""
        text = read_text(self.params['private_key_file'])
        if text is None:
            return None
        try:
            return config.key(text, 'the content of %s' % self.params['private_key_file'])
        except InvalidParameter as err:
            if self.params.get('rotate_key') or self.state == 'absent':
                return None
            raise self.fail('manage', '%s; it is left alone (rotate_key: true replaces it)' % err.msg, InvalidParameter)

    def read(self):
        link = self.ctx.link(self.name)
        current = {'link': None, 'live': None, 'conf': read_text(self.paths['conf']),
                   'dir': os.path.isdir(_names.WIREGUARD_DIR),
                   'entries': sorted(os.listdir(_names.WIREGUARD_DIR)) if os.path.isdir(_names.WIREGUARD_DIR) else None,
                   'key_exists': os.path.exists(self.params['private_key_file'])}
        current['key'] = self.read_key()
        if link is not None:
            current['link'] = dict(link, addresses=sorted(self.ctx.link_addresses(link['index'])))
        return current

    def read_live(self):
        """``wg showconf`` of our device, as :func:`config.view` (None when wg cannot read it)."""
        if find_program(WG) is None:
            return None
        try:
            return config.view(config.parse(self.wg(['showconf', self.name])))
        except (BackendError, InvalidParameter):
            return None

    def check_owned(self, link, daemon_pid):
        if link is None:
            return
        ours = link.get('alias') == _names.WIREGUARD_ALIAS or (daemon_pid is not None and link.get('kind') == 'tun')
        if not ours:
            raise self.fail('manage', 'an interface of that name exists but netwire did not create it (no alias %s);'
                            ' it is left alone' % _names.WIREGUARD_ALIAS, NotOwned)
        if link.get('kind') not in (config.KERNEL_KIND, config.USERSPACE_KIND):
            raise self.fail('manage', 'the interface is a %s, not a WireGuard device' % link.get('kind'), NotOwned)

    # ------------------------------------------------------------ run
    def run(self):
        current = self.read()
        if self.state == 'present' and self.params.get('key_only'):
            return self.run_key_only(current)
        daemon = self.daemon()
        dcur = daemon.read()
        running = dcur.get('active') if daemon.systemd else dcur['pid']
        self.check_owned(current['link'], dcur['pid'] if not daemon.systemd else (1 if running else None))
        if current['conf'] is not None and not is_marked(current['conf']):
            raise self.fail('manage', 'file %s exists and netwire did not write it (no "%s" line); it is left alone'
                            % (self.paths['conf'], _names.FILE_MARK), NotOwned)
        if self.state == 'absent':
            return self.run_absent(current, daemon, dcur)
        return self.run_present(current, daemon, dcur, running)

    def run_present(self, current, daemon, dcur, running):
        p = self.params
        self.require(WG_TOOLS)
        link = current['link']
        kernel = None
        if config.choose_backend(p['backend'], link, True) != config.choose_backend(p['backend'], link, False):
            kernel = kernel_has_wireguard()  # only asked when the answer decides
        current['kernel'] = kernel
        backend = config.choose_backend(p['backend'], link, kernel)
        if backend == 'kernel' and link is None and kernel is None and not kernel_has_wireguard():
            raise self.fail('create', 'this kernel has no WireGuard (module wireguard, CONFIG_WIREGUARD); use'
                            ' backend auto or userspace (wireguard-go)', MissingDependency)
        current['daemon_running'] = running
        if backend == 'userspace':
            if find_program(WIREGUARD_GO) is None:
                raise self.fail('manage', 'this kernel has no WireGuard and wireguard-go is not installed (Debian'
                                ' package wireguard-go)', MissingDependency)
            dsteps = daemon.plan(dcur, 'present')
            if link is None and running and not daemon.systemd:
                # our wireguard-go without its device: start it again
                dsteps = [DaemonStep('stop', dcur['pid'], None)] + daemon.plan(dict(dcur, pid=None), 'present')
            elif link is None and running:
                dsteps = [DaemonStep('systemctl', ('stop', daemon.unit), None)] + daemon.plan(
                    dict(dcur, active=False), 'present')
        else:
            dsteps = daemon.plan(dcur, 'absent')
        if link is not None and config.link_backend(link) == backend:
            current['live'] = self.read_live()
        backend, steps = config.plan(p, current, dsteps)
        before = self.state_view(current)
        actions = [config.describe(s, lambda d: describe_daemon_step(d, daemon.what)) for s in steps]
        if not self.check_mode:
            self.apply(steps)
        after = self.predicted(current, backend)
        public_key = None
        if not (self.check_mode and any(s.op == 'genkey' for s in steps)):
            public_key = self.wg(['pubkey'], self.read_key() + '\n').strip()
        view = {'name': self.name, 'state': 'present', 'backend': backend, 'public_key': public_key,
                'listen_port': p['listen_port'], 'address': p['address'], 'mtu': after['mtu'],
                'peers': [dict(peer) for peer in p['peers']], 'private_key_file': p['private_key_file'],
                'config_file': self.paths['conf'],
                'pid': daemon.our_pid() if backend == 'userspace' and not self.check_mode else None}
        warnings = [USERSPACE_WARNING % self.name] if backend == 'userspace' else []
        changed = bool(steps)
        return Result(changed=changed, actions=actions, diff={'before': before, 'after': after} if changed else None,
                      warnings=warnings, label=self.name, wireguard=view)

    def run_key_only(self, current):
        """The key step of a play (``key_only``): the private key exists (made once), its public key is returned;
        the device is not looked at. Its hosts' peers need every public key before any device is configured."""
        self.require(WG_TOOLS)
        steps = []
        if not current.get('dir') and os.path.dirname(self.params['private_key_file']) == _names.WIREGUARD_DIR:
            steps.append(config.Step('mkdir', _names.WIREGUARD_DIR, 0o700))
        if current.get('key') is None or self.params.get('rotate_key'):
            steps.append(config.Step('genkey', self.params['private_key_file'],
                                     'rotate' if current.get('key') else 'new'))
        actions = [config.describe(s, None) for s in steps]
        if not self.check_mode:
            self.apply(steps)
        public_key = None
        if not (self.check_mode and steps and steps[-1].op == 'genkey'):
            public_key = self.wg(['pubkey'], self.read_key() + '\n').strip()
        view = {'name': self.name, 'state': 'present', 'public_key': public_key,
                'private_key_file': self.params['private_key_file']}
        return Result(changed=bool(steps), actions=actions, label=self.name, wireguard=view,
                      diff={'before': {'private_key_file': current['key_exists']},
                            'after': {'private_key_file': True}} if steps else None)

    def run_absent(self, current, daemon, dcur):
        steps = config.plan_absent(self.params, current, daemon.plan(dcur, 'absent'))
        before = self.state_view(current)
        actions = [config.describe(s, lambda d: describe_daemon_step(d, daemon.what)) for s in steps]
        if not self.check_mode:
            self.apply(steps)
        changed = bool(steps)
        view = {'name': self.name, 'state': 'absent',
                'private_key_file': self.params['private_key_file'] if current['key_exists'] and not
                self.params.get('remove_key') else None}
        return Result(changed=changed, actions=actions, diff={'before': before, 'after': {}} if changed else None,
                      label=self.name, wireguard=view)

    # ------------------------------------------------------------ views (never a private key)
    def state_view(self, current):
        link = current['link']
        if link is None and current['conf'] is None:
            return {}
        out = {'config_file': current['conf']}
        if link is not None:
            live = current.get('live') or {}
            out.update(backend=config.link_backend(link), mtu=link.get('mtu'), up=link.get('up'),
                       addresses=link.get('addresses'), listen_port=live.get('listen_port'),
                       peers=live.get('peers'))
        return out

    def predicted(self, current, backend):
        p = self.params
        link = current['link'] if config.link_backend(current['link']) == backend else None
        addresses = [p['address']] if p['address'] else (link or {}).get('addresses', [])
        return {'config_file': marked(config.render(p)), 'backend': backend,
                'mtu': p['mtu'] or (link or {}).get('mtu') or DEFAULT_MTU, 'up': True, 'addresses': addresses,
                'listen_port': p['listen_port'], 'peers': config.desired_view(p)['peers']}

    # ------------------------------------------------------------ apply
    def apply(self, steps):
        for step in steps:
            getattr(self, '_do_' + step.op.replace('-', '_'))(step)

    def _do_daemon(self, step):
        self.daemon().apply([step.target])
        self.ctx.invalidate()

    def _do_mkdir(self, step):
        if not os.path.isdir(step.target):
            os.makedirs(step.target, step.data)
        os.chmod(step.target, step.data)

    def _do_genkey(self, step):
        path = step.target
        if not os.path.isdir(os.path.dirname(path)):
            os.makedirs(os.path.dirname(path), 0o700)
        private = config.key(self.wg(['genkey'], verb='generate a key for'), 'wg genkey output')
        write_atomic(path, private + '\n', 0o600)

    def _do_write(self, step):
        write_atomic(step.target, step.data, 0o600)

    def _do_remove(self, step):
        try:
            os.unlink(step.target)
        except OSError as err:
            if err.errno != errno.ENOENT:
                raise

    def _do_rmdir(self, step):
        os.rmdir(step.target)

    def _index(self):
        link = self.ctx.read_link(self.name)
        self.ctx.invalidate()
        return link['index'] if link is not None else None

    def _do_delete(self, step):
        index = self._index()
        if index is not None:
            self.ctx.call('delete', self.kind, self.name, 'link', 'del', index=index, ignore=(errno.ENODEV,))

    def _do_create(self, step):
        self.ctx.call('create', self.kind, self.name, 'link', 'add', ifname=self.name, kind=config.KERNEL_KIND)

    def _do_wait(self, step):
        deadline = time.time() + READY_TIMEOUT
        while time.time() < deadline:
            if os.path.exists(step.data) and self.ctx.read_link(self.name) is not None:
                self.ctx.invalidate()
                return
            time.sleep(0.05)
        raise self.fail('start', 'wireguard-go did not create the device and %s within %s s' % (step.data, READY_TIMEOUT))

    def _do_mark(self, step):
        self.ctx.call('mark', self.kind, self.name, 'link', 'set', index=self._index(), ifalias=step.data)

    def _do_syncconf(self, step):
        text = config.with_private_key(config.render(self.params), self.read_key())
        self.wg(['syncconf', self.name, '/dev/stdin'], text, verb='configure')

    def _do_mtu(self, step):
        self.ctx.call('set mtu of', self.kind, self.name, 'link', 'set', index=self._index(), mtu=step.data)

    def _do_addr_del(self, step):
        linkops._addr(self.ctx, 'del', self.name, self._index(), step.data, None)

    def _do_addr_add(self, step):
        linkops._addr(self.ctx, 'add', self.name, self._index(), step.data, None)

    def _do_up(self, step):
        self.ctx.call('bring up', self.kind, self.name, 'link', 'set', index=self._index(), state='up')

    # ------------------------------------------------------------ purge
    @classmethod
    def purge(cls, ctx, keep=None):
        """Remove our devices (the alias, or a marked configuration file) not named in ``keep``; keys stay."""
        names = set(link['ifname'] for link in ctx.links().values() if link.get('alias') == _names.WIREGUARD_ALIAS)
        try:
            files = os.listdir(_names.WIREGUARD_DIR)
        except OSError:
            files = []
        for f in files:
            if f.endswith('.conf') and not f.startswith('.') and \
                    is_marked(read_text(os.path.join(_names.WIREGUARD_DIR, f))):
                names.add(f[:-len('.conf')])
        results = []
        for name in sorted(names):
            if keep is not None and name in keep:
                continue
            results.append(cls(ctx, {'name': name, 'state': 'absent'}).run())
        return [r for r in results if r.changed]
