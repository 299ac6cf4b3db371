# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_attach's resolver: a container's own resolv.conf, never the host's.

Which file is the container's:

- Docker/Podman: the engine's ``ResolvConfPath`` (from the container's inspect
  document), bind-mounted by the engine as the container's ``/etc/resolv.conf``.
  Being a bind mount, it is rewritten in place (same inode); the engine's
  original is kept next to it (``<path>.netwire-orig``) for ``state: absent``.
- a named network namespace: ``/etc/netns/<name>/resolv.conf`` (``ip netns exec``
  binds it over ``/etc/resolv.conf``), created by us and removed on absent.
- a pid or a namespace path: no file we can own: skipped with a warning.

Every file we write starts with ``_names.FILE_MARK`` and names the attachment
that wrote it; a file without both is someone else's and is left alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import re

from ansible_collections.netwire.fabric.plugins.module_utils._errors import BackendError, InvalidParameter, NetwireError
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import ContainerNamespace, resolve
from ansible_collections.netwire.fabric.plugins.module_utils._names import FILE_MARK, attach_alias, parse_attach_alias

NETNS_ETC = '/etc/netns'
ORIG_SUFFIX = '.netwire-orig'
MAX_SERVERS = 3  # the resolver library reads only the first three nameserver lines
_DOMAIN_RE = re.compile(r'^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)'
                        r'(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$')
OWNER_PREFIX = '# written by container_attach for '
_NETNS_NAME_RE = re.compile(r'^[A-Za-z0-9_.-]+$')


def normalize_resolver(value):
    """``resolver`` option -> {'servers': [...], 'search': [...]} or None (pure)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidParameter('resolver must be a dict with servers and search')
    servers, search = [], []
    for server in value.get('servers') or []:
        try:
            servers.append(ipaddress.ip_address(str(server)).compressed)
        except ValueError:
            raise InvalidParameter("resolver server '%s' is not an IP address" % server)
    if not servers:
        raise InvalidParameter('resolver needs at least one server')
    if len(servers) > MAX_SERVERS:
        raise InvalidParameter('resolver has %d servers; a resolv.conf uses only the first %d'
                               % (len(servers), MAX_SERVERS))
    for domain in value.get('search') or []:
        if not _DOMAIN_RE.match(str(domain)):
            raise InvalidParameter("resolver search domain '%s' is not a valid DNS name" % domain)
        search.append(str(domain).rstrip('.').lower())
    return {'servers': servers, 'search': search}


def render(resolver, owner):
    """The resolv.conf text for ``resolver`` written by attachment ``owner`` (pure)."""
    lines = [FILE_MARK, OWNER_PREFIX + owner]
    lines += ['nameserver %s' % s for s in resolver['servers']]
    if resolver['search']:
        lines.append('search %s' % ' '.join(resolver['search']))
    return '\n'.join(lines) + '\n'


def owner_of(text):
    """The attachment that wrote ``text`` ('' for a marked file without one), None when not ours (pure)."""
    if text is None:
        return None
    lines = text.splitlines()
    if not lines or lines[0].strip() != FILE_MARK:
        return None
    if len(lines) > 1 and lines[1].startswith(OWNER_PREFIX):
        return lines[1][len(OWNER_PREFIX):].strip()
    return ''


def decide_present(current, wanted, owner):
    """What to do with the container's file: 'keep' (already ours, equal), 'save' (someone else's:
    keep it as the original, then write), 'write' (ours, or another interface's of the same container:
    the resolver moved; rewrite), 'refuse' (another container reference's) (pure)."""
    who = owner_of(current)
    if who is None:
        return 'save'
    if who not in ('', owner) and who.rpartition('/')[0] != owner.rpartition('/')[0]:
        return 'refuse'
    return 'keep' if current == wanted else 'write'


def decide_absent(current, owner, have_original):
    """On detach: 'restore' (ours, original kept), 'remove' (ours, nothing to put back), 'leave' (pure)."""
    if owner_of(current) != owner:
        return 'leave'
    return 'restore' if have_original else 'remove'


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except (IOError, OSError):
        return None


def _write_new(path, text, mode=0o644):
    """A whole new file (a temp file renamed over it): for files that are not bind mounts."""
    tmp = path + '.netwire-tmp'
    with open(tmp, 'w') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, mode)
    os.rename(tmp, path)


def _write_in_place(path, text):
    """Rewrite a bind-mounted file through its own inode (a rename would not reach the container)."""
    data = text.encode('utf-8')
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data)
        os.ftruncate(fd, len(data))
        os.fsync(fd)
    finally:
        os.close(fd)


class ResolverFile(object):
    """The container's resolv.conf as this attachment manages it."""

    def __init__(self, ns, owner):
        self.ns = ns
        self.owner = owner
        self.skip = None
        self.netns_dir = None
        if ns.ref_type in ('docker', 'podman'):
            self.path = getattr(ns, 'resolv_conf', None)
            self.in_place = True
            if not self.path:
                self.skip = 'the %s container %s has no resolv.conf of its own (no ResolvConfPath)' % (
                    ns.ref_type, ns.name)
            elif not os.path.exists(self.path):
                self.skip = ('the resolv.conf of %s container %s (%s) is not on this host (a remote or rootless'
                             ' engine?)' % (ns.ref_type, ns.name, self.path))
        elif ns.ref_type == 'netns':
            self.netns_dir = os.path.join(NETNS_ETC, ns.name)
            self.path = os.path.join(self.netns_dir, 'resolv.conf')
            self.in_place = False
        else:
            self.path = None
            self.in_place = False
            self.skip = ('resolver is not set for %s: a %s reference has no resolv.conf that netwire can own'
                         ' (use a Docker/Podman container or a named namespace)' % (ns.name, ns.ref_type))
        self.original = self.path + ORIG_SUFFIX if self.path and self.in_place else None

    def read(self):
        return _read(self.path) if self.path else None

    def plan_present(self, plan, resolver):
        """Queue the write; returns (before text, after text) for the diff."""
        current = self.read()
        wanted = render(resolver, self.owner)
        decision = decide_present(current, wanted, self.owner)
        if decision == 'refuse':
            raise InvalidParameter('%s carries the mark of another attachment (%s); detach that one or set the'
                                   ' resolver there' % (self.path, owner_of(current)))
        if decision == 'keep':
            return current, current
        if decision == 'save' and current is not None and self.original:
            plan.step('keep the original %s as %s' % (self.path, self.original), _write_new, self.original, current)
        plan.step('set the resolver of %s in %s (%s)' % (self.ns.name, self.path, ', '.join(resolver['servers'])),
                  self._write, wanted)
        return current, wanted

    def _write(self, text):
        try:
            if self.in_place:
                if not os.path.exists(self.path):
                    raise BackendError('%s vanished (the container was removed?)' % self.path)
                _write_in_place(self.path, text)
            else:
                if not os.path.isdir(self.netns_dir):
                    os.makedirs(self.netns_dir, 0o755)
                _write_new(self.path, text)
        except (IOError, OSError) as err:
            raise BackendError('cannot write %s: %s' % (self.path, err))

    def plan_absent(self, plan):
        """Queue putting back what was there, when the file is still ours; returns (before, after)."""
        current = self.read()
        original = _read(self.original) if self.original else None
        decision = decide_absent(current, self.owner, original is not None)
        if decision == 'leave':
            if self.original and original is not None and owner_of(current) is None:
                # someone else rewrote it since: their file stays, our copy of the original goes
                plan.step('forget %s (%s is no longer ours: left as it is)' % (self.original, self.path),
                          _unlink, self.original)
            return current, current
        if decision == 'restore':
            plan.step('restore the original %s' % self.path, self._restore, original)
            return current, original
        if self.in_place:  # ours, but the original is lost: an empty resolver beats a stale one of ours
            plan.step('empty %s (ours; its original was not kept)' % self.path, _write_in_place, self.path, '')
            return current, ''
        plan.step('remove %s' % self.path, self._remove)
        return current, None

    def _restore(self, original):
        _write_in_place(self.path, original)
        _unlink(self.original)

    def _remove(self):
        _unlink(self.path)
        try:
            os.rmdir(self.netns_dir)  # only when empty: anything else there is someone else's
        except OSError:
            pass


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def resolver_file(ns, ref, ref_type, ifname):
    """The container's ResolverFile for attachment (ns, ifname); with the container gone (``ns`` None,
    on detach) only a named namespace's file can still be found, by its name. None: nothing to do."""
    if ns is None:
        ref = str(ref)
        if ref_type not in ('auto', 'netns') or not _NETNS_NAME_RE.match(ref) or ref in ('.', '..'):
            return None
        ns = ContainerNamespace(ref, 'netns', None, 'netns:%s' % ref, ref)
        if not os.path.exists(os.path.join(NETNS_ETC, ref, 'resolv.conf')):
            return None
    return ResolverFile(ns, attach_alias(ns.identity, ifname))


class _Steps(object):
    """A minimal plan: records actions, runs the steps unless in check mode."""

    def __init__(self):
        self.actions, self.steps = [], []

    def step(self, action, func, *args):
        self.actions.append(action)
        self.steps.append((func, args))


def restore_after_removal(alias, check_mode=False):
    """After host_network removed the attachment marked ``alias`` (a purge): put back the container's
    resolv.conf when this attachment still owns it, as ``state: absent`` does. Returns the actions."""
    identity, ifname = parse_attach_alias(alias) or (None, None)
    if not (identity and ifname):
        return []
    ref_type, _sep, ref = identity.partition(':')
    if ref_type not in ('docker', 'podman', 'netns'):
        return []
    try:
        ns = resolve(ref, ref_type)
    except NetwireError:
        ns = None
    rf = resolver_file(ns, ref, ref_type, ifname)
    if rf is None or rf.skip or not rf.path:
        return []
    steps = _Steps()
    rf.plan_absent(steps)
    if not check_mode:
        for func, args in steps.steps:
            func(*args)
    return steps.actions
