# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container reference -> network namespace.

A container is named by a Docker name or ID (Docker Engine API over its unix
socket), a Podman name or ID (Podman's Docker-compatible API socket, else
``podman container inspect`` JSON), a PID, a named namespace (``ip netns``) or
a namespace file path. The result carries a stable ``identity`` (what host-end
names, MACs and ownership marks are derived from) and the namespace path.

The Docker client here is plain HTTP over a unix socket from the standard
library, so managed hosts need no Docker SDK.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import socket
import subprocess

try:
    import http.client as http_client
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2 is not supported on managed hosts
    http_client = None
    quote = None

from ansible_collections.netwire.fabric.plugins.module_utils._errors import (
    InvalidParameter,
    MissingDependency,
    failure,
)
from ansible_collections.netwire.fabric.plugins.module_utils._record import Record

REF_TYPES = ('auto', 'docker', 'podman', 'pid', 'netns', 'path')
DOCKER_SOCKETS = ('/run/docker.sock', '/var/run/docker.sock')
PODMAN_SOCKETS = ('/run/podman/podman.sock', '/var/run/podman/podman.sock')
NETNS_DIR = '/run/netns'
_NETNS_NAME_RE = re.compile(r'^[A-Za-z0-9_.-]+$')


class ContainerNamespace(Record):
    """Where a container's network namespace is, and who the container is."""

    # resolv_conf: an engine's ResolvConfPath, the file it binds as /etc/resolv.conf
    FIELDS = ('ref', 'ref_type', 'path', 'identity', 'name', 'pid', 'container_id', 'resolv_conf')
    DEFAULTS = {'pid': None, 'container_id': None, 'resolv_conf': None}

    def inode(self):
        try:
            return os.stat(self.path).st_ino
        except OSError:
            return None

    def as_dict(self):
        return {'ref': self.ref, 'type': self.ref_type, 'netns': self.path, 'identity': self.identity,
                'name': self.name, 'pid': self.pid, 'id': self.container_id}


class _UnixHTTPConnection(http_client.HTTPConnection):
    def __init__(self, path, timeout=10):
        http_client.HTTPConnection.__init__(self, 'localhost', timeout=timeout)
        self._socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._socket_path)
        self.sock = sock


def engine_get(socket_path, url):
    """GET ``url`` from a Docker-compatible engine; (status, parsed JSON or None)."""
    conn = _UnixHTTPConnection(socket_path)
    try:
        conn.request('GET', url, headers={'Host': 'localhost'})
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    try:
        data = json.loads(body.decode('utf-8')) if body else None
    except ValueError:
        data = None
    return resp.status, data


def _first_socket(candidates, env_var=None):
    if env_var and os.environ.get(env_var, '').startswith('unix://'):
        candidates = (os.environ[env_var][len('unix://'):],) + tuple(candidates)
    for path in candidates:
        if os.path.exists(path):
            return path
    return None


def _pid_netns(pid):
    return '/proc/%d/ns/net' % pid


def _from_inspect(ref, ref_type, data):
    """Build the namespace from an engine's container inspect document."""
    state = data.get('State') or {}
    name = (data.get('Name') or ref).lstrip('/')
    if not state.get('Running') or not state.get('Pid'):
        restarting = ' (it is restarting: retry)' if state.get('Restarting') else ''
        raise failure('resolve', 'container', ref, '%s container %s is not running (status: %s)%s'
                      % (ref_type, name, state.get('Status', 'unknown'), restarting), InvalidParameter)
    pid = int(state['Pid'])
    return ContainerNamespace(ref, ref_type, _pid_netns(pid), '%s:%s' % (ref_type, name), name,
                              pid=pid, container_id=data.get('Id'), resolv_conf=data.get('ResolvConfPath') or None)


def _engine_inspect(ref, ref_type, socket_path):
    try:
        status, data = engine_get(socket_path, '/containers/%s/json' % quote(ref, safe=''))
    except (OSError, http_client.HTTPException) as err:
        raise failure('resolve', 'container', ref, 'cannot talk to the %s engine at %s: %s'
                      % (ref_type, socket_path, err), MissingDependency)
    if status == 404:
        return None
    if status != 200 or not isinstance(data, dict):
        raise failure('resolve', 'container', ref, '%s engine answered HTTP %s: %s'
                      % (ref_type, status, (data or {}).get('message', '') if isinstance(data, dict) else ''),
                      MissingDependency)
    return data


def _not_found(ref, required, reason, cls):
    """None for a reference that may be missing (``required`` false); else the failure to resolve it."""
    if required:
        raise failure('resolve', 'container', ref, reason, cls)
    return None


def resolve_docker(ref, required=True):
    sock = _first_socket(DOCKER_SOCKETS, 'DOCKER_HOST')
    if sock is None:
        return _not_found(ref, required, 'no Docker Engine socket (%s)' % ', '.join(DOCKER_SOCKETS),
                          MissingDependency)
    data = _engine_inspect(ref, 'docker', sock)
    if data is None:
        return _not_found(ref, required, 'no such Docker container', InvalidParameter)
    return _from_inspect(ref, 'docker', data)


def _podman_cli(ref):
    try:
        proc = subprocess.run(['podman', 'container', 'inspect', ref], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=30, check=False)
    except OSError:
        return False, None
    if proc.returncode != 0:
        return True, None
    try:
        docs = json.loads(proc.stdout.decode('utf-8'))
    except ValueError:
        return True, None
    return True, (docs[0] if docs else None)


def resolve_podman(ref, required=True):
    sock = _first_socket(PODMAN_SOCKETS, 'CONTAINER_HOST')
    if sock is not None:
        data = _engine_inspect(ref, 'podman', sock)
    else:
        available, data = _podman_cli(ref)
        if not available:
            return _not_found(ref, required, 'neither a Podman API socket (%s) nor the podman command'
                              ' is available' % ', '.join(PODMAN_SOCKETS), MissingDependency)
    if data is None:
        return _not_found(ref, required, 'no such Podman container', InvalidParameter)
    return _from_inspect(ref, 'podman', data)


def resolve_pid(ref):
    try:
        pid = int(ref)
    except (TypeError, ValueError):
        raise failure('resolve', 'container', ref, 'a pid reference must be a number', InvalidParameter)
    path = _pid_netns(pid)
    if pid <= 0 or not os.path.exists(path):
        raise failure('resolve', 'container', ref, 'no process with pid %s' % ref, InvalidParameter)
    return ContainerNamespace(str(ref), 'pid', path, 'pid:%d' % pid, 'pid%d' % pid, pid=pid)


def resolve_netns(ref):
    if not _NETNS_NAME_RE.match(ref or ''):
        raise failure('resolve', 'container', ref, 'not a valid named network namespace', InvalidParameter)
    path = os.path.join(NETNS_DIR, ref)
    if not os.path.exists(path):
        raise failure('resolve', 'container', ref, 'no named network namespace %s' % path, InvalidParameter)
    return ContainerNamespace(ref, 'netns', path, 'netns:%s' % ref, ref)


def resolve_path(ref):
    if not ref.startswith('/'):
        raise failure('resolve', 'container', ref, 'a namespace path must be absolute', InvalidParameter)
    if not os.path.exists(ref):
        raise failure('resolve', 'container', ref, 'no such namespace file', InvalidParameter)
    name = os.path.basename(ref.rstrip('/')) or ref
    return ContainerNamespace(ref, 'path', ref, 'path:%s' % ref, name)


def resolve(ref, ref_type='auto'):
    """Resolve a container reference; raises InvalidParameter/MissingDependency."""
    if ref_type not in REF_TYPES:
        raise InvalidParameter("unknown container_type '%s'" % ref_type)
    if not ref:
        raise InvalidParameter('container must not be empty')
    ref = str(ref)
    if ref_type == 'docker':
        return resolve_docker(ref)
    if ref_type == 'podman':
        return resolve_podman(ref)
    if ref_type == 'pid':
        return resolve_pid(ref)
    if ref_type == 'netns':
        return resolve_netns(ref)
    if ref_type == 'path':
        return resolve_path(ref)
    # auto: the unambiguous forms first, then the engines, then named namespaces
    if ref.startswith('/'):
        return resolve_path(ref)
    if ref.isdigit():
        return resolve_pid(ref)
    if _NETNS_NAME_RE.match(ref) and os.path.exists(os.path.join(NETNS_DIR, ref)):
        return resolve_netns(ref)
    found = resolve_docker(ref, required=False)
    if found is None:
        found = resolve_podman(ref, required=False)
    if found is None:
        raise failure('resolve', 'container', ref, 'no running Docker or Podman container, named network'
                      ' namespace, pid or namespace path by that name', InvalidParameter)
    return found


CLONE_NEWNET = 0x40000000
_LIBC = []


def _setns(fd):
    if not _LIBC:
        import ctypes

        _LIBC.append(ctypes.CDLL(None, use_errno=True))
    if _LIBC[0].setns(fd, CLONE_NEWNET) != 0:
        import ctypes

        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def in_netns(netns, func):
    """Run ``func()`` with the calling thread switched to ``netns`` (a path; ``None``: here), then switched
    back, and return its result. A socket opened by ``func`` stays in ``netns``.

    ``setns`` is per thread, and switching the caller's thread costs two system calls: a thread
    of its own for each namespace cost more than the reads done in it (issue 20; under load, the
    new thread waits to be scheduled). No process is forked. The thread always returns to its own
    namespace: if it could not, nothing else may run in it, and the module stops.
    """
    if not netns:
        return func()
    here = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
    try:
        there = os.open(netns, os.O_RDONLY)
        try:
            _setns(there)
        finally:
            os.close(there)
        try:
            return func()
        finally:
            try:
                _setns(here)
            except OSError as exc:  # pragma: no cover - the kernel refused to switch back
                os.write(2, ('netwire: could not return to the module\'s own network namespace: %s\n'
                             % exc).encode())
                os._exit(70)
    finally:
        os.close(here)
