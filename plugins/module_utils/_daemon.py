# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One daemon instance of ours (dnsmasq, etcd; FRR, wireguard-go, HAProxy later).

A :class:`Daemon` is described by its program, its instance name, its argv, its
pidfile and the files it needs; it reads the host (:meth:`Daemon.read`), plans
(:meth:`Daemon.plan`, pure: a list of :class:`Step`) and applies
(:meth:`Daemon.apply`, never in check mode)::

    d = Daemon('dnsmasq', 'nw-dmz', ['/usr/sbin/dnsmasq', '--conf-file=/etc/...'], '/run/netwire/dnsmasq-nw-dmz.pid',
               files={conf: text}, reload_files={hosts: text}, instance_dirs={hosts_dir: 0o755})
    steps = d.plan(d.read(), 'present')
    d.apply(steps)

Ownership: every file we write starts with :data:`_names.FILE_MARK`; a file
without it is never overwritten or removed. The daemon is ours when the pid in
the pidfile is alive and its ``/proc/<pid>/cmdline`` equals the argv we would
start; any other process is never signalled. ``files`` are restart-relevant:
their hash (with the argv) is kept next to the pidfile (``<pidfile>.hash``) and
a new hash restarts the daemon; a change in ``reload_files`` alone sends
``reload_signal`` (SIGHUP). ``forks=True``: the program daemonizes itself and
writes the pidfile (its first process's exit code and stderr tell whether it
started); ``forks=False``: we start it in a new session and write the pidfile.
``hash_files`` gives, for a restart-relevant file, the text its hash is taken
from instead (the parts a running daemon never reads again left out: etcd's
``initial-*`` settings). ``state_dirs`` are the instance's data, which the daemon
fills (etcd's data directory): created, and at ``absent`` removed whole after
the stop.

On a host with systemd (``/run/systemd/system``) the daemon runs under a marked
unit ``/etc/systemd/system/netwire-<daemon>-<name>.service`` instead (enabled,
restarted on a new hash, reloaded, disabled and removed with the instance), or,
with ``service='frr.service'``, under a unit its package ships: we write no unit
then, and disable it with the instance only when our files were there.

``owners`` (``{dir: (user, group)}``) gives directories the owner a daemon that
drops its privileges needs (FRR's ``/run/frr``); a ``run`` step runs a command of
the instance (FRR's ``frr-reload.py``), and fails the run when it fails.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import grp
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import time
from collections import namedtuple

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._contract import Manager
from ansible_collections.netwire.fabric.plugins.module_utils._errors import (
    BackendError,
    InvalidParameter,
    MissingDependency,
    NotOwned,
    failure,
)

SYSTEMD_DIR = '/etc/systemd/system'
SYSTEMD_RUNNING = '/run/systemd/system'
PROGRAM_PATH = ('/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin')
LOG_TAIL = 2000  # characters of a failed start's output put into the error

# One planned operation: ``op`` (mkdir, chown, write, remove, rmdir, purge, start, restart, reload, stop, record,
# forget, systemctl, run), ``target`` (a path, a pid, or systemctl's arguments) and ``data`` (mode, text, hash).
Step = namedtuple('Step', 'op target data')


def find_program(program, path=PROGRAM_PATH):
    """The absolute path of ``program`` (sbin directories included), or None."""
    if os.path.isabs(program):
        return program if os.access(program, os.X_OK) else None
    for d in path:
        candidate = os.path.join(d, program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def marked(text):
    """``text`` as we write it: the mark line first."""
    return text if is_marked(text) else '%s\n%s' % (_names.FILE_MARK, text)


def is_marked(text):
    return text is not None and (text == _names.FILE_MARK or text.startswith(_names.FILE_MARK + '\n'))


def config_hash(argv, files):
    """The hash of what a restart depends on: the argv and the restart-relevant files (as written)."""
    h = hashlib.sha256()
    h.update(('\0'.join(argv) + '\n').encode('utf-8'))
    for path in sorted(files):
        h.update(('%s\0%s\0' % (path, marked(files[path]))).encode('utf-8'))
    return h.hexdigest()


def read_text(path):
    """A file's text, or None when it does not exist."""
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')
    except (IOError, OSError) as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def write_atomic(path, text, mode=0o644):
    """Write ``text`` to ``path`` through a hidden temporary file and a rename (readers, and dnsmasq's
    inotify, which skips names starting with a dot, see the old file or the new one, never a part)."""
    tmp = os.path.join(os.path.dirname(path), '.%s.%d.tmp' % (os.path.basename(path), os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(text.encode('utf-8'))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def pid_cmdline(pid):
    """The argv of process ``pid`` (``/proc/<pid>/cmdline``), or None when there is no such process (or only
    its zombie, whose cmdline is empty, as a kernel thread's is: neither is anyone's daemon)."""
    text = read_text('/proc/%d/cmdline' % pid)
    return text.rstrip('\0').split('\0') if text else None


def stored_hash(text):
    """The hash a state file holds (its last line, after the mark), or None."""
    lines = [l for l in (text or '').splitlines() if l.strip() and not l.startswith('#')]
    return lines[-1].strip() if lines else None


def pid_gone(pid):
    """True when ``pid`` has exited: no such process, or its zombie. (Its cmdline empties earlier, while
    the process still holds its files and sockets: a restart must wait for this.)"""
    text = read_text('/proc/%d/stat' % pid)
    if not text:
        return True
    state = text.rpartition(')')[2].split()
    return not state or state[0] in ('Z', 'X')


def read_pidfile(path):
    text = read_text(path)
    try:
        pid = int((text or '').strip())
    except ValueError:
        return None
    return pid if pid > 0 else None


def unit_text(daemon, name, argv, pidfile, forks):
    """The systemd unit of an instance (without the mark line: :func:`marked` adds it)."""
    lines = [
        '[Unit]',
        'Description=netwire.fabric %s %s' % (daemon, name),
        'After=network.target',
        '',
        '[Service]',
        'Type=%s' % ('forking' if forks else 'simple'),
    ]
    if forks:
        lines.append('PIDFile=%s' % pidfile)
    lines += [
        'ExecStart=%s' % ' '.join(argv),
        'ExecReload=/bin/kill -HUP $MAINPID',
        'Restart=on-failure',
        '',
        '[Install]',
        'WantedBy=multi-user.target',
        '',
    ]
    return '\n'.join(lines)


def owner_ids(user, group):
    """``(uid, gid)`` of ``user`` and ``group`` (None for one the host does not have)."""
    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        uid = None
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        gid = None
    return uid, gid


def describe(step, what):
    """The action text of a step (``what`` is '<daemon> <name>')."""
    op, target, data = step
    if op == 'systemctl':
        return 'systemctl %s' % ' '.join(target)
    if op == 'run':
        return 'run %s' % ' '.join(target)
    if op == 'chown':
        return 'set the owner of %s to %s' % (target, ':'.join(str(x) for x in data))
    texts = {
        'mkdir': 'create directory %s', 'write': 'write %s', 'remove': 'remove %s', 'rmdir': 'remove directory %s',
        'record': 'record the configuration hash in %s', 'forget': 'remove %s',
        'purge': 'remove %s and everything in it',
    }
    if op in texts:
        return texts[op] % target
    if op == 'start':
        return 'start %s' % what
    if op == 'restart':
        return 'restart %s (pid %s): its configuration changed' % (what, target)
    if op == 'reload':
        return 'reload %s (pid %s, SIGHUP): its records changed' % (what, target)
    if op == 'stop':
        return 'stop %s (pid %s)' % (what, target)
    return '%s %s' % (op, target)


class Daemon(object):
    """One instance of a daemon of ours (see the module docstring).

    ``files``: ``{path: text}`` whose change restarts the daemon; ``reload_files``: ``{path: text}``
    whose change only reloads it; ``dirs``: ``{path: mode}`` shared parents, created and never removed;
    ``instance_dirs``: ``{path: mode}`` the instance's own directories, removed with it when nothing but
    our files is in them; ``state_dirs``: ``{path: mode}`` the instance's data, filled by the daemon and
    removed whole with it (the caller passes only directories that are ours); ``hash_files``: ``{path:
    text}`` the text a restart-relevant file's hash is taken from, when not the file's; ``runtime_files``:
    what the daemon itself writes at paths of ours (a lease file), removed after it stopped. ``quiet``: its
    standard output is dropped (only its errors go to the log). ``systemd`` None: use it when the host runs it.
    """

    def __init__(self, daemon, name, argv, pidfile, files=None, reload_files=None, dirs=None,
                 instance_dirs=None, runtime_files=(), forks=True, reload_signal=signal.SIGHUP,
                 start_timeout=10.0, stop_timeout=5.0, settle=0.5, systemd=None, service=None, owners=None,
                 state_dirs=None, hash_files=None, quiet=False):
        self.daemon = daemon
        self.name = name
        self.argv = list(argv)
        self.pidfile = pidfile
        self.files = dict(files or {})
        self.reload_files = dict(reload_files or {})
        self.dirs = dict(dirs or {})
        self.instance_dirs = dict(instance_dirs or {})
        self.state_dirs = dict(state_dirs or {})
        self.hash_files = dict(hash_files or {})
        self.runtime_files = list(runtime_files)
        self.quiet = quiet  # its standard output (a keep-alive's line per renewal) is not kept, only its errors
        self.forks = forks
        self.reload_signal = reload_signal
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.settle = settle  # forks=False: how long a fresh process must live to count as started
        self.systemd = os.path.isdir(SYSTEMD_RUNNING) if systemd is None else systemd
        base = pidfile[:-4] if pidfile.endswith('.pid') else pidfile
        self.hash_path = base + '.hash'
        self.log_path = base + '.log'
        # {dir: (uid, gid)}; a user or group the host lacks is left as it is
        self.owners = dict((d, owner_ids(*ug)) for d, ug in (owners or {}).items())
        self.service = service
        self.unit = service or _names.systemd_unit_name(daemon, name)
        self.unit_path = None if service else os.path.join(SYSTEMD_DIR, self.unit)
        if self.systemd and not service:
            self.files[self.unit_path] = unit_text(daemon, name, self.argv, pidfile, forks)

    @property
    def what(self):
        return '%s %s' % (self.daemon, self.name)

    def fail(self, verb, reason, cls=BackendError):
        return failure(verb, self.daemon, self.name, reason, cls)

    def wanted(self):
        """``{path: text}`` of every file as we write it (mark included)."""
        return dict((path, marked(text)) for path, text in list(self.files.items()) + list(self.reload_files.items()))

    def owns(self, cmdline):
        """True when a process with ``cmdline`` is our instance (exactly our argv; a subclass may accept what
        the daemon itself adds on a reload, HAProxy's ``-sf <pids>``)."""
        return cmdline is not None and cmdline == self.argv

    def want_hash(self):
        return config_hash(self.argv, dict(self.files, **self.hash_files))

    # ------------------------------------------------------------ read
    def our_pid(self):
        """The pidfile's pid when that process runs our argv, else None (never signal anything else)."""
        pid = read_pidfile(self.pidfile)
        if pid is not None and self.owns(pid_cmdline(pid)):
            return pid
        return None

    def read(self):
        """The instance as it is on the host (a dict; :meth:`plan` takes it)."""
        paths = list(self.files) + list(self.reload_files)
        in_pidfile = read_pidfile(self.pidfile)
        cmdline = pid_cmdline(in_pidfile) if in_pidfile else None
        hash_text = read_text(self.hash_path)
        current = {
            'pid': in_pidfile if self.owns(cmdline) and not self.systemd else None,
            'pidfile': read_text(self.pidfile) is not None,
            # a live process that is not ours in our pidfile: never signalled, and its pidfile stays
            'foreign_pid': in_pidfile if cmdline is not None and not self.owns(cmdline) else None,
            'files': dict((p, read_text(p)) for p in paths),
            'hash': stored_hash(hash_text),
            'hash_file': hash_text,
            'dirs': dict((d, os.path.isdir(d)) for d in list(self.dirs) + list(self.instance_dirs)
                         + list(self.state_dirs)),
            'owners': dict((d, self._owner(d)) for d in self.owners),
            'entries': dict((d, sorted(os.listdir(d))) for d in self.instance_dirs if os.path.isdir(d)),
            'runtime': dict((p, os.path.exists(p)) for p in self.runtime_files),
            'log': os.path.exists(self.log_path),
        }
        if self.systemd:
            current['active'] = self._systemctl_state('is-active') == 'active'
            current['enabled'] = self._systemctl_state('is-enabled') == 'enabled'
        return current

    @staticmethod
    def _owner(path):
        try:
            st = os.stat(path)
        except OSError:
            return None
        return st.st_uid, st.st_gid

    def _systemctl_state(self, verb):
        proc = subprocess.run(['systemctl', verb, self.unit], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=30, check=False)
        return proc.stdout.decode('utf-8', 'replace').strip()

    # ------------------------------------------------------------ plan (pure)
    def plan(self, current, state='present'):
        """The steps from ``current`` (:meth:`read`) to ``state``; raises NotOwned for a file not ours."""
        if state == 'absent':
            return self._plan_absent(current)
        steps = []
        for d, mode in list(self.dirs.items()) + list(self.instance_dirs.items()) + list(self.state_dirs.items()):
            if not current['dirs'].get(d):
                steps.append(Step('mkdir', d, mode))
            want_owner = self.owners.get(d)
            if want_owner is not None:
                have = current.get('owners', {}).get(d) or (None, None)
                if any(w is not None and w != h for w, h in zip(want_owner, have)):
                    steps.append(Step('chown', d, want_owner))
        written = set()
        for path, text in list(self.files.items()) + list(self.reload_files.items()):
            have = current['files'].get(path)
            if have is not None and not is_marked(have):
                raise self.fail('manage', 'file %s exists and netwire did not write it (no "%s" line); it is left'
                                ' alone' % (path, _names.FILE_MARK), NotOwned)
            if have != marked(text):
                steps.append(Step('write', path, marked(text)))
                written.add(path)
        want = self.want_hash()
        if self.systemd:
            return steps + self._plan_systemd(current, want, written)
        pid = current['pid']
        if pid is None:
            steps.append(Step('start', None, None))
        elif current['hash'] != want:
            steps.append(Step('restart', pid, None))
        elif written & set(self.reload_files):
            steps.append(Step('reload', pid, None))
        if current['hash'] != want:
            steps.append(Step('record', self.hash_path, want))
        return steps

    def _plan_systemd(self, current, want, written):
        steps = []
        if self.unit_path in written:
            steps.append(Step('systemctl', ('daemon-reload',), None))
        if not current.get('active'):
            steps.append(Step('systemctl', ('enable', '--now', self.unit), None))
        elif current['hash'] != want:
            steps.append(Step('systemctl', ('restart', self.unit), None))
        elif written & set(self.reload_files):
            steps.append(Step('systemctl', ('reload', self.unit), None))
        if current.get('active') and not current.get('enabled'):
            steps.append(Step('systemctl', ('enable', self.unit), None))
        if current['hash'] != want:
            steps.append(Step('record', self.hash_path, want))
        return steps

    def _plan_absent(self, current):
        steps = []
        files = current['files']
        if self.systemd:
            # our unit, or (a package's unit) our files in its place
            ours = [self.unit_path] if self.unit_path else list(self.files) + list(self.reload_files)
            if any(is_marked(files.get(p)) for p in ours):
                steps.append(Step('systemctl', ('disable', '--now', self.unit), None))
        elif current['pid'] is not None:
            steps.append(Step('stop', current['pid'], None))
        removed = set()
        for path in list(self.files) + list(self.reload_files):
            if is_marked(files.get(path)):
                steps.append(Step('remove', path, None))
                removed.add(path)
        if self.systemd and self.unit_path in removed:
            steps.append(Step('systemctl', ('daemon-reload',), None))
        for path in self.runtime_files:
            if current['runtime'].get(path):
                steps.append(Step('forget', path, None))
                removed.add(path)
        if current['hash_file'] is not None:
            steps.append(Step('forget', self.hash_path, None))
        if current.get('log'):
            steps.append(Step('forget', self.log_path, None))
        if current['pidfile'] and not current['foreign_pid'] and not self.systemd:
            steps.append(Step('forget', self.pidfile, None))
        for d in sorted(self.state_dirs):
            if current['dirs'].get(d):
                steps.append(Step('purge', d, None))
                removed.add(d)
        # the instance's own directories go when nothing but what we remove is in them (deepest first)
        for d in sorted(self.instance_dirs, reverse=True):
            entries = current['entries'].get(d)
            if entries is not None and all(os.path.join(d, e) in removed for e in entries):
                steps.append(Step('rmdir', d, None))
        return steps

    # ------------------------------------------------------------ apply
    def apply(self, steps):
        """Carry out ``steps`` (from :meth:`plan`) in order."""
        for op, target, data in steps:
            if op == 'mkdir':
                if not os.path.isdir(target):
                    os.makedirs(target, data)
                    os.chmod(target, data)
            elif op in ('write', 'record'):
                write_atomic(target, marked(data) if op == 'record' else data)
            elif op in ('remove', 'forget'):
                self._unlink(target, op)
            elif op == 'chown':
                os.chown(target, -1 if data[0] is None else data[0], -1 if data[1] is None else data[1])
            elif op == 'rmdir':
                os.rmdir(target)
            elif op == 'run':
                self.run(target)
            elif op == 'purge':
                shutil.rmtree(target)
            elif op == 'start':
                self.start()
            elif op == 'restart':
                self.stop(target)
                self.start()
            elif op == 'reload':
                self.signal(target, self.reload_signal)
            elif op == 'stop':
                self.stop(target)
            elif op == 'systemctl':
                self.systemctl(*target)

    def _unlink(self, path, op):
        if op == 'forget' and path == self.pidfile:
            # the pidfile goes only when it does not name a live process that is not ours
            pid = read_pidfile(path)
            cmdline = pid_cmdline(pid) if pid is not None else None
            if cmdline is not None and not self.owns(cmdline):
                return
        try:
            os.unlink(path)
        except OSError as err:
            if err.errno != errno.ENOENT:
                raise

    def signal(self, pid, signum):
        """Signal ``pid`` only while it is still ours (its cmdline is our argv)."""
        if not self.owns(pid_cmdline(pid)):
            return False
        try:
            os.kill(pid, signum)
        except OSError as err:
            if err.errno == errno.ESRCH:
                return False
            raise
        return True

    def stop(self, pid):
        """SIGTERM our ``pid``, wait up to ``stop_timeout`` until it has exited (its sockets closed), then
        SIGKILL it (still only while it is ours) and wait again."""
        if not self.signal(pid, signal.SIGTERM):
            return
        for kill in (False, True):
            if kill:
                self.signal(pid, signal.SIGKILL)
            deadline = time.time() + self.stop_timeout
            while time.time() < deadline:
                if pid_gone(pid):
                    return
                time.sleep(0.05)

    def _log_tail(self):
        text = read_text(self.log_path) or ''
        return text.strip()[-LOG_TAIL:] or '(no output)'

    def start(self):
        """Start the daemon detached (new session, stdin /dev/null, output to the log file next to the
        pidfile) and wait until its pid is alive and ours; report an early exit with its output."""
        if find_program(self.argv[0]) is None:
            raise self.fail('start', '%s is not installed' % self.argv[0], MissingDependency)
        self._unlink(self.pidfile, 'forget')
        with open(os.devnull, 'rb') as devnull, open(self.log_path, 'wb') as log:
            proc = subprocess.Popen(self.argv, stdin=devnull, stdout=subprocess.DEVNULL if self.quiet else log,
                                    stderr=log, close_fds=True,
                                    start_new_session=True, cwd='/')
        deadline = time.time() + self.start_timeout
        if self.forks:
            try:
                rc = proc.wait(timeout=self.start_timeout)
            except subprocess.TimeoutExpired:
                raise self.fail('start', '%s did not finish starting within %s s (pid %d left running): %s'
                                % (self.argv[0], self.start_timeout, proc.pid, self._log_tail()))
            if rc != 0:
                raise self.fail('start', '%s exited with status %d: %s' % (self.argv[0], rc, self._log_tail()))
        else:
            write_atomic(self.pidfile, '%d\n' % proc.pid)
            settled = time.time() + self.settle
            while time.time() < settled and proc.poll() is None:
                time.sleep(0.05)
            if proc.poll() is not None:
                raise self.fail('start', '%s exited with status %d right after it started: %s'
                                % (self.argv[0], proc.returncode, self._log_tail()))
        while time.time() < deadline:
            pid = self.our_pid()
            if pid is not None:
                return pid
            time.sleep(0.05)
        raise self.fail('start', 'no running %s with our arguments appeared in %s within %s s: %s'
                        % (self.argv[0], self.pidfile, self.start_timeout, self._log_tail()))

    def run(self, argv, timeout=60):
        """Run a command of the instance; its failure (with its output) fails the run."""
        proc = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                              check=False)
        if proc.returncode != 0:
            raise self.fail('run %s for' % os.path.basename(argv[0]),
                            'exit status %d: %s' % (proc.returncode,
                                                    proc.stdout.decode('utf-8', 'replace').strip()[-LOG_TAIL:]))
        return proc

    def systemctl(self, *args):
        proc = subprocess.run(['systemctl'] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=60, check=False)
        if proc.returncode != 0:
            raise self.fail('run systemctl %s for' % ' '.join(args),
                            proc.stderr.decode('utf-8', 'replace').strip()[-LOG_TAIL:])

    # ------------------------------------------------------------ the usual sequence
    def converge(self, state, check_mode):
        """Read, plan and (outside check mode) apply: ``(current, steps, actions)``."""
        current = self.read()
        steps = self.plan(current, state)
        if not check_mode:
            self.apply(steps)
        return current, steps, [describe(s, self.what) for s in steps]


def owned_instances(directory, suffix):
    """Names of our instances: files ``<name><suffix>`` in ``directory`` that carry the mark."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(n[:-len(suffix)] for n in names
                  if n.endswith(suffix) and not n.startswith('.') and is_marked(read_text(os.path.join(directory, n))))


class DaemonManager(Manager):
    """Base of the kinds that run a daemon of ours (dnsmasq, etcd, wireguard-go, FRR).

    A subclass names its ``kind``, its pure parameter check ``normalize`` (its
    config module's, as a staticmethod) and its daemon's ``default_program``
    path: the program of that name found on the host, else this path (the run
    then fails on it where it must). A bad parameter fails before anything is
    read, named after the kind and the instance (``default_name`` for a kind
    with one instance per host).
    """

    normalize = None
    default_program = None
    default_name = None

    def __init__(self, ctx, params):
        super(DaemonManager, self).__init__(ctx, params)
        try:
            self.params = self.normalize(params)
        except InvalidParameter as err:
            raise failure('manage', self.kind, params.get('name') or self.default_name, err.msg, InvalidParameter)
        self.name = self.params.get('name') or self.default_name
        self.state = self.params.get('state') or 'present'
        self.warnings = []

    def fail(self, verb, reason, cls=BackendError):
        return failure(verb, self.kind, self.name, reason, cls)

    def require(self, programs, verb='manage'):
        """Fail (:class:`MissingDependency`) on the first of ``programs``, ``(program, Debian package)`` pairs,
        that is not installed; the package's text may say more."""
        for program, package in programs:
            if find_program(program) is None:
                raise self.fail(verb, '%s is not installed (Debian package %s)' % (program, package), MissingDependency)

    @classmethod
    def program(cls):
        return find_program(os.path.basename(cls.default_program)) or cls.default_program

    @staticmethod
    def diff_state(current):
        """The diff's view of an instance as :meth:`Daemon.read` found it: our files and whether it runs."""
        files = dict((path, text) for path, text in current['files'].items() if text is not None)
        if not files and current['pid'] is None and not current.get('active'):
            return {}
        return {'running': current['pid'] is not None or bool(current.get('active')), 'files': files}

    @classmethod
    def purge_instances(cls, ctx, keep, directory, suffix, keep_name=None):
        """``state: absent`` for every instance of ours (a marked ``<name><suffix>`` in ``directory``) whose
        name (``keep_name(name)``) ``keep`` does not hold (None: every one); ``(results, names removed)``."""
        results, removed = [], []
        for name in owned_instances(directory, suffix):
            if keep is not None and (keep_name(name) if keep_name else name) in keep:
                continue
            results.append(cls(ctx, {'name': name, 'state': 'absent'}).run())
            removed.append(name)
        return results, removed
