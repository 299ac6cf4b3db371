# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client of etcd's v3 JSON gateway (``POST <client URL>/v3/...``, etcd 3.4): JSON in and out, keys
and values base64, 64-bit integers as strings. Every request is bounded (``timeout`` seconds).

:meth:`Gateway.leader` finds a member that has a leader (``/v3/maintenance/status``) and uses it for every
later request; none is a :class:`NoQuorum` that names what each endpoint said.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import socket

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

TIMEOUT = 2.0


class CatalogError(Exception):
    def __init__(self, msg):
        super(CatalogError, self).__init__(msg)
        self.msg = msg


class NoQuorum(CatalogError):
    pass


def b64(text):
    return base64.b64encode(text.encode('utf-8')).decode('ascii')


def unb64(text):
    return base64.b64decode(text or '').decode('utf-8', 'replace')


def prefix_end(prefix):
    """etcd's range_end of every key that starts with ``prefix`` (its last byte plus one)."""
    raw = bytearray(prefix.encode('utf-8'))
    raw[-1] += 1
    return base64.b64encode(bytes(raw)).decode('ascii')


def parse_kvs(answer):
    """A range answer's keys: ``[{key, value, lease}]`` (lease an int, 0 for none)."""
    out = []
    for kv in (answer or {}).get('kvs') or []:
        out.append({'key': unb64(kv.get('key')), 'value': unb64(kv.get('value')), 'lease': int(kv.get('lease') or 0)})
    return sorted(out, key=lambda kv: kv['key'])


def parse_status(answer):
    """``/v3/maintenance/status``: ``(leader id or 0, [errors])``."""
    answer = answer or {}
    return int(answer.get('leader') or 0), list(answer.get('errors') or [])


class Gateway(object):
    """The catalog's members (``endpoints``: client URLs); ``post`` may replace the transport (tests)."""

    def __init__(self, endpoints, timeout=TIMEOUT, post=None):
        self.endpoints = list(endpoints)
        self.timeout = timeout
        self.endpoint = self.endpoints[0] if self.endpoints else None
        self._post = post or self._http

    def _http(self, url, body):
        try:
            resp = open_url(url, data=json.dumps(body).encode('utf-8'), headers={'Content-Type': 'application/json'},
                            method='POST', timeout=self.timeout, use_proxy=False)
            try:
                return json.loads(resp.read().decode('utf-8') or '{}')
            finally:
                resp.close()
        except HTTPError as err:
            try:
                data = json.loads(err.read().decode('utf-8') or '{}')
            except ValueError:
                data = {}
            raise CatalogError(data.get('error') or data.get('message') or 'HTTP %d' % err.code)
        except (URLError, socket.timeout, OSError, ValueError) as err:
            raise CatalogError(str(getattr(err, 'reason', None) or err) or err.__class__.__name__)

    def call(self, path, body, endpoint=None):
        return self._post('%s/v3/%s' % ((endpoint or self.endpoint).rstrip('/'), path), body)

    def leader(self):
        """Use the first endpoint whose member has a leader; :class:`NoQuorum` when none has one."""
        said = []
        for endpoint in self.endpoints:
            try:
                leader, errors = parse_status(self.call('maintenance/status', {}, endpoint))
            except CatalogError as err:
                said.append('%s: %s' % (endpoint, err.msg))
                continue
            if leader and not errors:
                self.endpoint = endpoint
                return endpoint
            said.append('%s: %s' % (endpoint, '; '.join(errors) or 'no leader'))
        raise NoQuorum('; '.join(said) or 'no endpoints')

    def range_prefix(self, prefix):
        return parse_kvs(self.call('kv/range', {'key': b64(prefix), 'range_end': prefix_end(prefix)}))

    def lease_ttl(self, lease):
        """``(seconds left, granted TTL)`` of ``lease``; ``(-1, 0)`` when it does not exist (expired, revoked)."""
        answer = self.call('lease/timetolive', {'ID': str(lease)})
        return int(answer.get('TTL') or -1), int(answer.get('grantedTTL') or 0)

    def grant(self, lease, ttl):
        answer = self.call('lease/grant', {'ID': str(lease), 'TTL': str(ttl)})
        if answer.get('error'):
            raise CatalogError(answer['error'])
        return answer

    def revoke(self, lease):
        try:
            return self.call('lease/revoke', {'ID': str(lease)})
        except CatalogError as err:
            if 'not found' in err.msg:
                return {}
            raise

    def txn(self, puts, deletes, lease):
        """One transaction: every put (under ``lease``) and every delete, or none."""
        ops = [{'request_put': {'key': b64(k), 'value': b64(v), 'lease': str(lease)}} for k, v in sorted(puts.items())]
        ops += [{'request_delete_range': {'key': b64(k)}} for k in sorted(deletes)]
        answer = self.call('kv/txn', {'compare': [], 'success': ops})
        if not answer.get('succeeded'):
            raise CatalogError('the transaction did not succeed: %s' % answer)
        return answer
