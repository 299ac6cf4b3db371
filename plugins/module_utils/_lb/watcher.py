# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The entry point's watch of the catalog (a program: the lb manager writes this file's text next to HAProxy's
configuration and runs it with the host's python3 through the daemon helper; standard library only).

It reads every key under ``<prefix>/services/`` (a quorum read through etcd's v3
JSON gateway), writes, for each service of its configuration, the file of A
records ``<address> <service>.svc.<domain>`` into each of its dnsmasq hosts dirs (dnsmasq
reads it by inotify; HAProxy's resolvers follow: no reload), then watches the
prefix (``/v3/watch``) and reads again on every event, at the latest every
``poll`` seconds. When the catalog does not answer (no quorum, members down) it
keeps the files as they are: the entry point keeps serving its last members.
A file is written only when its text changes, through a hidden temporary file
and a rename (dnsmasq skips dot files); a file there that is not ours (no mark)
is never written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import sys
import time

try:
    from http.client import HTTPConnection
    from urllib.parse import urlsplit
except ImportError:  # Python 2 hosts
    from httplib import HTTPConnection
    from urlparse import urlsplit

MARK = '# managed by netwire.fabric'
TIMEOUT = 2.0


def _b64(text):
    return base64.b64encode(text.encode('utf-8')).decode('ascii')


def _range_end(prefix):
    raw = bytearray(prefix.encode('utf-8'))
    raw[-1] += 1
    return base64.b64encode(bytes(raw)).decode('ascii')


def _post(url, body, timeout):
    """POST ``body`` as JSON to etcd's gateway (plain HTTP on the members' client URLs); the response,
    to read and close. An error status raises, as no answer does: the caller keeps its last records."""
    parts = urlsplit(url)
    conn = HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    conn.request('POST', parts.path, json.dumps(body).encode('utf-8'), {'Content-Type': 'application/json'})
    resp = conn.getresponse()
    if resp.status >= 400:
        conn.close()
        raise IOError('%s answered HTTP %d' % (url, resp.status))
    return resp


def members(conf, kvs):
    """``{service: sorted addresses}`` of the configured services from the catalog's ``kvs`` ([(key, value)])."""
    base = conf['prefix'].rstrip('/') + '/services/'
    out = dict((s, set()) for s in conf['services'])
    for key, value in kvs:
        if not key.startswith(base):
            continue
        parts = key[len(base):].split('/')
        if len(parts) != 3 or parts[0] not in out:
            continue
        address = value.rsplit(':', 1)[0].strip('[]')
        if address:
            out[parts[0]].add(address)
    return dict((s, sorted(a)) for s, a in out.items())


def hosts_text(fqdn, addresses):
    """A hosts file of ours: the mark, then one ``address name`` line per member."""
    return '\n'.join([MARK] + ['%s %s' % (a, fqdn) for a in addresses]) + '\n'


def write_if_changed(path, text):
    """Write ``text`` to ``path`` unless it holds it already or holds a file that is not ours (no mark: left
    alone)."""
    try:
        with open(path) as f:
            have = f.read()
        if have == text or not (have == MARK or have.startswith(MARK + '\n')):
            return False
    except (IOError, OSError):
        pass
    tmp = os.path.join(os.path.dirname(path), '.%s.tmp' % os.path.basename(path))
    with open(tmp, 'w') as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)
    return True


def snapshot(conf):
    """``(kvs, revision, endpoint)`` from the first member that answers a quorum read, or None."""
    base = conf['prefix'].rstrip('/') + '/services/'
    for endpoint in conf['endpoints']:
        try:
            resp = _post(endpoint + '/v3/kv/range', {'key': _b64(base), 'range_end': _range_end(base)}, TIMEOUT)
            data = json.loads(resp.read().decode('utf-8') or '{}')
            resp.close()
        except Exception:  # pylint: disable=broad-except
            continue
        kvs = [(base64.b64decode(kv.get('key', '')).decode('utf-8', 'replace'),
                base64.b64decode(kv.get('value', '')).decode('utf-8', 'replace')) for kv in data.get('kvs') or []]
        return kvs, int((data.get('header') or {}).get('revision') or 0), endpoint
    return None


def files_of(spec):
    """The files a service's records go to: ``files`` (a host's names watch: one per dnsmasq that answers the
    service) or ``file`` (the entry point's watch)."""
    return list(spec.get('files') or []) + ([spec['file']] if spec.get('file') else [])


def apply(conf, kvs):
    for service, addresses in members(conf, kvs).items():
        spec = conf['services'][service]
        for path in files_of(spec):
            if os.path.isdir(os.path.dirname(path)):
                write_if_changed(path, hosts_text(spec['fqdn'], addresses))


def wait_for_event(conf, endpoint, revision):
    """Block until the prefix changes after ``revision`` or ``poll`` seconds pass (or the watch breaks)."""
    base = conf['prefix'].rstrip('/') + '/services/'
    body = {'create_request': {'key': _b64(base), 'range_end': _range_end(base), 'start_revision': str(revision + 1)}}
    deadline = time.time() + conf.get('poll', 15)
    try:
        resp = _post(endpoint + '/v3/watch', body, conf.get('poll', 15))
    except Exception:  # pylint: disable=broad-except
        time.sleep(1)
        return
    try:
        while time.time() < deadline:
            line = resp.readline()
            if not line:
                return
            result = (json.loads(line.decode('utf-8')) or {}).get('result') or {}
            if result.get('events') or result.get('canceled') or result.get('compact_revision'):
                return
    except Exception:  # pylint: disable=broad-except
        return
    finally:
        resp.close()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0]) as f:
        conf = json.loads('\n'.join(line for line in f.read().splitlines() if not line.startswith('#')))
    while True:
        got = snapshot(conf)
        if got is None:  # no member answers a quorum read: keep the last records
            time.sleep(1)
            continue
        kvs, revision, endpoint = got
        apply(conf, kvs)
        wait_for_event(conf, endpoint, revision)


if __name__ == '__main__':
    main()
