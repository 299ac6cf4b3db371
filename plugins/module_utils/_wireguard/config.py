# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One WireGuard device of ours, as data and text (pure: no host access).

:func:`normalize` checks the module's parameters; :func:`render` returns the
device's configuration in WireGuard's own format (what ``wg syncconf`` reads)
without the private key, which stays in its key file and is added only on the
way to ``wg`` (:func:`with_private_key`); :func:`parse` reads what ``wg
showconf`` prints (the same INI-like format, one ``[Peer]`` section per peer)
and :func:`view` turns either side into the comparable view (never a private
key). :func:`plan` computes the steps from what the host has to what the
parameters ask for.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import ipaddress
import re
from collections import namedtuple

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils import _validate as v
from ansible_collections.netwire.fabric.plugins.module_utils._daemon import is_marked, marked
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter

BACKENDS = ('auto', 'kernel', 'userspace')
KEEPALIVE_MAX = 65535
# A device's link kind: kernel WireGuard, or the TUN device wireguard-go creates.
KERNEL_KIND = 'wireguard'
USERSPACE_KIND = 'tun'

# One planned operation (see :func:`plan`): ``op``, ``target`` (a path, a name, an address) and ``data``.
Step = namedtuple('Step', 'op target data')


# ---------------------------------------------------------------- values

def key(value, what='key'):
    """A WireGuard key: 32 bytes in standard base64 (44 characters), returned canonical."""
    text = str(value or '').strip()
    try:
        raw = base64.b64decode(text.encode('ascii'), validate=True)
    except (binascii.Error, ValueError, UnicodeError):
        raw = None
    if raw is None or len(raw) != 32:
        raise InvalidParameter('%s is not a WireGuard key (32 bytes in base64, 44 characters)' % what)
    return base64.b64encode(raw).decode('ascii')


def endpoint(value, what='endpoint'):
    """``ip``, ``ip:port``, ``[ipv6]:port`` (an address, not a name: ``wg showconf`` shows addresses, so a
    name could never compare equal) -> ``ip:port`` / ``[ipv6]:port``; the port defaults to 51820."""
    text = str(value).strip()
    port = _names.WIREGUARD_PORT
    m = re.match(r'^\[([^\]]+)\](?::(\d+))?$', text)
    if m:
        host, port_text = m.group(1), m.group(2)
    elif text.count(':') == 1:
        host, port_text = text.split(':')
    else:
        host, port_text = text, None
    if port_text is not None:
        if not port_text.isdigit():
            raise InvalidParameter("%s '%s': the port is not a number" % (what, text))
        port = v.int_range(int(port_text), 1, 65535, '%s port' % what)
    host = v.ip_address(host, '%s address' % what)
    return ('[%s]:%d' if ':' in host else '%s:%d') % (host, port)


def allowed_ip(value):
    """A network the peer may send from (``10.9.0.2`` means ``10.9.0.2/32``), canonical."""
    text = str(value).strip()
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise InvalidParameter("allowed_ips entry '%s' is not a network: %s" % (text, exc))
    return net.compressed


def sort_networks(nets):
    return sorted(set(nets), key=lambda n: (ipaddress.ip_network(n).version, ipaddress.ip_network(n)))


def normalize(params):
    """Validate and canonicalize the parameters (``state: absent`` needs only ``name``)."""
    p, present = v.named_params(params, 'device name')
    p['state'] = p.get('state') or 'present'
    paths = _names.wireguard_paths(p['name'])
    p['private_key_file'] = p.get('private_key_file') or paths['key']
    if not p['private_key_file'].startswith('/'):
        raise InvalidParameter("private_key_file '%s' is not an absolute path" % p['private_key_file'])
    p['backend'] = p.get('backend') or 'auto'
    if p['backend'] not in BACKENDS:
        raise InvalidParameter("backend '%s' is not one of %s" % (p['backend'], ', '.join(BACKENDS)))
    if not present:
        return p
    port = p.get('listen_port')
    p['listen_port'] = v.int_range(_names.WIREGUARD_PORT if port is None else port, 1, 65535, 'listen_port')
    p['mtu'] = v.int_range(p.get('mtu'), 1280, 65535, 'mtu')  # WireGuard refuses IPv6 below 1280
    if p.get('address'):
        p['address'] = v.interface_address(p['address'], 'address')
    else:
        p['address'] = None
    peers, allowed_by = {}, {}
    for i, peer in enumerate(p.get('peers') or []):
        what = 'peers[%d]' % i
        pub = key(peer.get('public_key'), '%s.public_key' % what)
        if pub in peers:
            raise InvalidParameter('%s: public key %s is listed twice' % (what, pub))
        nets = sort_networks(allowed_ip(n) for n in peer.get('allowed_ips') or [])
        for net in nets:
            if net in allowed_by:
                # WireGuard routes by allowed IPs: a network on two peers would silently move to the last one
                raise InvalidParameter('%s: allowed_ips %s is already allowed for peer %s' % (what, net, allowed_by[net]))
            allowed_by[net] = pub
        keepalive = v.int_range(peer.get('persistent_keepalive'), 0, KEEPALIVE_MAX, '%s.persistent_keepalive' % what)
        peers[pub] = {
            'public_key': pub,
            'endpoint': endpoint(peer['endpoint'], '%s.endpoint' % what) if peer.get('endpoint') else None,
            'allowed_ips': nets,
            'persistent_keepalive': keepalive or None,
        }
    p['peers'] = [peers[k] for k in sorted(peers)]
    return p


# ---------------------------------------------------------------- the configuration text

def render(p):
    """The device's configuration (WireGuard's format, without the private key and without the mark)."""
    lines = ['[Interface]', 'ListenPort = %d' % p['listen_port']]
    for peer in p['peers']:
        lines += ['', '[Peer]', 'PublicKey = %s' % peer['public_key']]
        if peer['allowed_ips']:
            lines.append('AllowedIPs = %s' % ', '.join(peer['allowed_ips']))
        if peer['endpoint']:
            lines.append('Endpoint = %s' % peer['endpoint'])
        if peer['persistent_keepalive']:
            lines.append('PersistentKeepalive = %d' % peer['persistent_keepalive'])
    return '\n'.join(lines) + '\n'


def with_private_key(text, private_key):
    """``text`` (ours, :func:`render`'s) with ``PrivateKey`` in its ``[Interface]`` section: what ``wg
    syncconf`` reads from its standard input (a configuration without one clears the device's key)."""
    out, done = [], False
    for line in text.splitlines():
        out.append(line)
        if not done and line.strip() == '[Interface]':
            out.append('PrivateKey = %s' % private_key)
            done = True
    if not done:
        out = ['[Interface]', 'PrivateKey = %s' % private_key] + out
    return '\n'.join(out) + '\n'


def parse(text):
    """WireGuard's configuration format (``wg showconf``, our file) -> ``[(section, {key: value})]``.

    Like configparser, but sections repeat (one ``[Peer]`` each), keys are case-insensitive (kept in
    their canonical spelling by :func:`view`), ``#`` starts a comment, and a repeated key (AllowedIPs
    may repeat) is joined with ', '.
    """
    sections = []
    for number, raw in enumerate((text or '').splitlines(), 1):
        line = raw.split('#', 1)[0].strip()
        if not line:
            continue
        if line.startswith('[') and line.endswith(']'):
            sections.append((line[1:-1].strip().lower(), {}))
            continue
        name, sep, value = line.partition('=')
        if not sep or not sections:
            raise InvalidParameter('line %d of the WireGuard configuration is not "Key = value" in a section: %r'
                                   % (number, raw))
        entries = sections[-1][1]
        name = name.strip().lower()
        value = value.strip()
        entries[name] = '%s, %s' % (entries[name], value) if name in entries and value else value
    return sections


def view(sections):
    """The comparable view of a configuration (:func:`parse`'s sections): ``listen_port``, ``peers`` (sorted,
    each with ``public_key``, ``endpoint``, ``allowed_ips``, ``persistent_keepalive``); its private key,
    if any, apart (``private_key``: compared on the host, never shown)."""
    out = {'listen_port': None, 'peers': [], 'private_key': None}
    peers = {}
    for name, entries in sections:
        if name == 'interface':
            port = entries.get('listenport')
            out['listen_port'] = int(port) if port and port.isdigit() and int(port) else None
            out['private_key'] = entries.get('privatekey') or None
        elif name == 'peer' and entries.get('publickey'):
            nets = [n.strip() for n in (entries.get('allowedips') or '').split(',') if n.strip()]
            keepalive = entries.get('persistentkeepalive') or ''
            keepalive = int(keepalive) if keepalive.isdigit() else None
            peers[entries['publickey']] = {
                'public_key': entries['publickey'],
                'endpoint': entries.get('endpoint') or None,
                'allowed_ips': sort_networks(ipaddress.ip_network(n, strict=False).compressed for n in nets),
                'persistent_keepalive': keepalive or None,
            }
    out['peers'] = [peers[k] for k in sorted(peers)]
    return out


def desired_view(p):
    return {'listen_port': p['listen_port'], 'peers': [dict(peer) for peer in p['peers']]}


def same_config(live, p):
    """Does the device's configuration (:func:`view` of ``wg showconf``) already hold what ``p`` asks? A peer
    without a configured endpoint learns one from its packets (roaming): that one is not a difference."""
    want = desired_view(p)
    if live is None or live['listen_port'] != want['listen_port']:
        return False
    have = dict((peer['public_key'], peer) for peer in live['peers'])
    if sorted(have) != [peer['public_key'] for peer in want['peers']]:
        return False
    for peer in want['peers']:
        got = dict(have[peer['public_key']])
        if peer['endpoint'] is None:
            got['endpoint'] = None
        if got != peer:
            return False
    return True


# ---------------------------------------------------------------- the plan

def choose_backend(backend, link, kernel):
    """``kernel`` or ``userspace``: the device's backend after the run. ``auto`` keeps an existing device's
    and otherwise takes the kernel's WireGuard when the kernel has it (``kernel``: True, False, or None when
    that is unknown)."""
    if backend != 'auto':
        return backend
    if link is not None and link.get('kind') in (KERNEL_KIND, USERSPACE_KIND):
        return 'kernel' if link['kind'] == KERNEL_KIND else 'userspace'
    return 'kernel' if kernel else 'userspace'


def link_backend(link):
    if link is None:
        return None
    return 'kernel' if link.get('kind') == KERNEL_KIND else 'userspace'


def plan(p, current, daemon_steps=None):
    """The steps from ``current`` (what the host has) to the parameters ``p`` (:func:`normalize`'s, state present).

    ``current``: ``link`` (None, or ``kind``, ``alias``, ``mtu``, ``up``, ``addresses``), ``live`` (:func:`view` of
    ``wg showconf``, None without a device), ``key`` (the key file's private key, None without one),
    ``conf`` (our configuration file's text, None without one), ``dir`` (the directory exists), ``daemon_running``
    (our wireguard-go runs: its pid), ``kernel`` (the kernel has WireGuard). ``daemon_steps``: the daemon helper's
    steps for a running wireguard-go (userspace), or for its removal (kernel). Ownership is checked by the caller.
    """
    name = p['name']
    paths = _names.wireguard_paths(name)
    link = current['link']
    backend = choose_backend(p['backend'], link, current.get('kernel'))
    steps = []
    if not current.get('dir'):
        steps.append(Step('mkdir', _names.WIREGUARD_DIR, 0o700))
    new_key = current.get('key') is None or p.get('rotate_key')
    if new_key:
        steps.append(Step('genkey', p['private_key_file'], 'rotate' if current.get('key') else 'new'))
    text = marked(render(p))
    if current.get('conf') != text:
        steps.append(Step('write', paths['conf'], text))
    have = link_backend(link)
    replace = link is not None and have != backend
    # a TUN device of ours without our wireguard-go (it died, or was started by hand): it cannot be configured
    stale = link is not None and have == 'userspace' and backend == 'userspace' and not current.get('daemon_running')
    if backend == 'kernel':
        # a wireguard-go of ours from before goes first (it takes its device with it)
        steps += [Step('daemon', s, None) for s in daemon_steps or []]
    if replace or stale:
        steps.append(Step('delete', name, 'replace by %s WireGuard' % backend if replace else 'no wireguard-go of ours'))
        link = None
    if backend == 'userspace':
        steps += [Step('daemon', s, None) for s in daemon_steps or []]
        if any(s.op in ('start', 'restart') or (s.op == 'systemctl' and s.target[0] in ('restart', 'enable'))
               for s in daemon_steps or []):
            link = None  # a new wireguard-go makes a new device: it needs everything again
        if link is None:
            steps.append(Step('wait', name, paths['socket']))
    elif link is None:
        steps.append(Step('create', name, KERNEL_KIND))
    if link is None or link.get('alias') != _names.WIREGUARD_ALIAS:
        steps.append(Step('mark', name, _names.WIREGUARD_ALIAS))
    live = current.get('live') if link is not None else None
    if (link is None or new_key or not same_config(live, p)
            or (live or {}).get('private_key') != current.get('key')):
        steps.append(Step('syncconf', name, paths['conf']))
    mtu = link.get('mtu') if link is not None else None
    if p.get('mtu') and mtu != p['mtu']:
        steps.append(Step('mtu', name, p['mtu']))
    if p.get('address'):
        addresses = link.get('addresses', []) if link is not None else []
        for addr in addresses:
            if addr != p['address']:
                steps.append(Step('addr-del', name, addr))
        if p['address'] not in addresses:
            steps.append(Step('addr-add', name, p['address']))
    if link is None or not link.get('up'):
        steps.append(Step('up', name, None))
    return backend, steps


def plan_absent(p, current, daemon_steps=None):
    """The steps removing our device ``p['name']``: its wireguard-go (``daemon_steps``) or kernel device, its
    configuration file when marked, its key only with ``remove_key``, our directory when it is left empty."""
    name = p['name']
    paths = _names.wireguard_paths(name)
    steps = [Step('daemon', s, None) for s in daemon_steps or []]
    stops = any(s.op == 'stop' or (s.op == 'systemctl' and s.target[0] == 'disable') for s in daemon_steps or [])
    if current['link'] is not None and (current['link'].get('kind') == KERNEL_KIND or not stops):
        # (our wireguard-go takes its device with it when it stops)
        steps.append(Step('delete', name, 'state absent'))
    removed = set()
    if is_marked(current.get('conf')):
        steps.append(Step('remove', paths['conf'], None))
        removed.add(paths['conf'])
    if p.get('remove_key') and current.get('key_exists'):
        steps.append(Step('remove', p['private_key_file'], None))
        removed.add(p['private_key_file'])
    entries = current.get('entries')
    if entries is not None and all('%s/%s' % (_names.WIREGUARD_DIR, e) in removed for e in entries):
        steps.append(Step('rmdir', _names.WIREGUARD_DIR, None))
    return steps


def describe(step, what):
    """The action text of a step (``what``: the daemon helper's describe for its own steps)."""
    op, target, data = step
    if op == 'daemon':
        return what(target)
    texts = {
        'mkdir': 'create directory %s (mode 0700)' % target,
        'genkey': '%s the private key %s (mode 0600)' % ('generate a new' if data == 'rotate' else 'generate', target),
        'write': 'write %s' % target,
        'remove': 'remove %s' % target,
        'rmdir': 'remove directory %s' % target,
        'delete': 'delete WireGuard device %s (%s)' % (target, data),
        'create': 'create WireGuard device %s (kernel)' % target,
        'wait': 'wait for wireguard-go to create %s (%s)' % (target, data),
        'mark': 'mark %s as ours (alias %s)' % (target, data),
        'syncconf': 'wg syncconf %s %s (with the private key)' % (target, data),
        'mtu': 'set %s mtu %s' % (target, data),
        'addr-del': 'remove address %s from %s' % (data, target),
        'addr-add': 'add address %s to %s' % (data, target),
        'up': 'bring %s up' % target,
    }
    return texts[op]
