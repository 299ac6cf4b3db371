# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_attach's DHCP client: busybox ``udhcpc`` from the host, in the container's namespace.

The client only *asks*: its event script (ours) records the lease's variables
in a file and configures nothing. The lease is then checked against the
model's address (and gateway); only a matching lease is applied, by the
manager, exactly as a static address (infinite lifetime, owned routes). A
mismatch or silence fails with what was expected and what was offered, and
leaves no address behind.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import shutil
import subprocess
import tempfile
import time

from ansible_collections.netwire.fabric.plugins.module_utils._errors import BackendError, MissingDependency
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netlink import CLONE_NEWNET, _libc

BUSYBOX_CANDIDATES = ('/bin/busybox', '/usr/bin/busybox', '/sbin/busybox', '/usr/sbin/busybox')
DHCP_TRIES = 3   # discover packets sent
DHCP_PAUSE = 2   # seconds between them: silence is reported after about DHCP_TRIES * DHCP_PAUSE seconds
LEASE_KEYS = ('ip', 'mask', 'subnet', 'router', 'serverid', 'lease', 'dns', 'domain', 'search')

# udhcpc runs this on every event; it records the lease of a 'bound' event and configures nothing.
LEASE_SCRIPT = """#!/bin/sh
# udhcpc event script of netwire.fabric container_attach: records the lease, configures nothing
[ "$1" = bound ] || exit 0
printf '%s\\n' %s > "$NETWIRE_LEASE_FILE.tmp" && mv "$NETWIRE_LEASE_FILE.tmp" "$NETWIRE_LEASE_FILE"
""" % ('\\n'.join('%s=%%s' % k for k in LEASE_KEYS), ' '.join('"$%s"' % k for k in LEASE_KEYS))


def find_busybox(candidates=BUSYBOX_CANDIDATES):
    """The busybox binary that carries udhcpc, or MissingDependency naming what to install."""
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    found = shutil.which('busybox')
    if found:
        return found
    raise MissingDependency('dhcp needs busybox (udhcpc) on the host: none of %s; install busybox-static'
                            % ', '.join(candidates))


def parse_lease(text):
    """``key=value`` lines of the event script -> dict of the lease's variables (pure)."""
    lease = {}
    for line in text.splitlines():
        key, sep, value = line.partition('=')
        if sep and key in LEASE_KEYS and value.strip():
            lease[key] = value.strip()
    return lease


def lease_address(lease):
    """The leased address with its prefix (``10.1.0.5/24``), or None (pure)."""
    if not lease.get('ip'):
        return None
    mask = lease.get('mask') or lease.get('subnet')
    try:
        return ipaddress.ip_interface('%s/%s' % (lease['ip'], mask) if mask else lease['ip']).with_prefixlen
    except ValueError:
        return None


def lease_router(lease):
    routers = (lease.get('router') or '').split()
    return routers[0] if routers else None


def lease_problem(lease, want, gateway=None):
    """None when the lease gives exactly ``want`` (and ``gateway`` as its router), else why not (pure)."""
    got = lease_address(lease)
    server = ' (server %s)' % lease['serverid'] if lease.get('serverid') else ''
    if got is None:
        return 'the DHCP answer%s carried no usable address (%r)' % (server, lease.get('ip'))
    if ipaddress.ip_interface(got) != ipaddress.ip_interface(want):
        return 'expected the lease %s, the DHCP server%s offered %s' % (want, server, got)
    if gateway:
        router = lease_router(lease)
        if router is None:
            return 'expected the router %s in the lease of %s, the DHCP server%s gave no router' % (
                gateway, want, server)
        if ipaddress.ip_address(router) != ipaddress.ip_address(gateway):
            return 'expected the router %s in the lease of %s, the DHCP server%s gave %s' % (
                gateway, want, server, router)
    return None


def udhcpc_argv(busybox, ifname, script, tries=DHCP_TRIES, pause=DHCP_PAUSE):
    """-q: exit once bound; -n: exit when no lease; no pidfile, no release, no ARP probe."""
    return [busybox, 'udhcpc', '-f', '-q', '-n', '-i', ifname, '-t', str(tries), '-T', str(pause),
            '-A', '1', '-s', script]


def _enter(netns):
    def preexec():
        fd = os.open(netns, os.O_RDONLY)
        try:
            if _libc().setns(fd, CLONE_NEWNET) != 0:
                os._exit(126)
        finally:
            os.close(fd)
    return preexec


def request_lease(netns, ifname, tries=DHCP_TRIES, pause=DHCP_PAUSE, busybox=None):
    """Run udhcpc in ``netns`` on ``ifname``; (lease dict or None when no server answered, seconds, output)."""
    busybox = busybox or find_busybox()
    workdir = tempfile.mkdtemp(prefix='netwire-dhcp-')
    try:
        script = os.path.join(workdir, 'event.sh')
        with open(script, 'w') as f:
            f.write(LEASE_SCRIPT)
        os.chmod(script, 0o700)
        out_file = os.path.join(workdir, 'lease')
        env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'NETWIRE_LEASE_FILE': out_file}
        started = time.time()
        try:
            proc = subprocess.run(udhcpc_argv(busybox, ifname, script, tries, pause), env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=_enter(netns),
                                  timeout=tries * pause + 5, check=False)
        except subprocess.TimeoutExpired:
            raise BackendError('udhcpc on %s did not end within %d s' % (ifname, tries * pause + 5))
        except OSError as err:
            raise MissingDependency('cannot run %s udhcpc: %s' % (busybox, err))
        elapsed = time.time() - started
        output = proc.stdout.decode('utf-8', 'replace').strip()
        if proc.returncode == 126:
            raise BackendError('cannot enter the network namespace %s to run udhcpc' % netns)
        if not os.path.exists(out_file):
            return None, elapsed, output
        with open(out_file) as f:
            return parse_lease(f.read()), elapsed, output
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
