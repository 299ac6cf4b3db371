# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The catalog and the entry point (issue 17, ``netwire_catalog``/``netwire_lb``): every member healthy with
quorum, the catalog holding exactly the model's services of each host, the LB's backends equal to the
catalog's members of their service, and every dnsmasq that answers a service's name holding those members.
etcd is asked with etcdctl ``-w json`` on the host itself (each call bounded: 2 s), HAProxy through its
runtime socket."""

from __future__ import annotations

import base64
import shlex

CTL = "timeout 10 etcdctl --endpoints=%s --dial-timeout=2s --command-timeout=2s -w json "


def _keys(spec, host, endpoints, prefix):
    """``{key: value}`` under ``<prefix>/services/`` (a quorum read through the host's own etcdctl)."""
    base = prefix.rstrip("/") + "/services/"
    data = spec.states[host].read("etcdctl get %s" % base, CTL % ",".join(endpoints) + "get --prefix " + shlex.quote(base))
    return dict((base64.b64decode(kv["key"]).decode(), base64.b64decode(kv["value"]).decode())
                for kv in (data or {}).get("kvs") or [])


def test_catalog_member(spec, catalog_member):
    """A member of the catalog is healthy (a quorum read answers) and knows its leader."""
    m = catalog_member
    state = spec.states[m["host"]]
    health = state.read("etcdctl endpoint health %s" % m["url"], CTL % m["url"] + "endpoint health")
    assert health and health[0].get("health"), "%s: the etcd member on %s is not healthy (%s): %s" % (
        m["path"], m["url"], (health or [{}])[0].get("error") or "no answer",
        "the catalog has no quorum or the member does not run")
    status = state.read("etcdctl endpoint status %s" % m["url"], CTL % m["url"] + "endpoint status")
    leader = ((status or [{}])[0].get("Status") or {}).get("leader")
    assert leader, "%s: the etcd member on %s knows no leader" % (m["path"], m["url"])
    members = state.read("etcdctl member list %s" % m["url"], CTL % m["url"] + "member list")
    assert len((members or {}).get("members") or []) == m["members"], "%s: the cluster has %d members, the " \
        "model %d" % (m["path"], len((members or {}).get("members") or []), m["members"])


def test_catalog_registration(spec, catalog_registration):
    """The catalog holds exactly the model's services of the host (no missing, wrong or stale key)."""
    r = catalog_registration
    have = dict((k, v) for k, v in _keys(spec, r["host"], r["endpoints"], r["prefix"]).items()
                if k.split("/")[-2:-1] == [r["host"]])
    missing = sorted(set(r["want"]) - set(have))
    extra = sorted(set(have) - set(r["want"]))
    wrong = sorted(k for k in set(have) & set(r["want"]) if have[k] != r["want"][k])
    assert not (missing or extra or wrong), "%s: the catalog's keys of host %s differ from the model: missing %s;" \
        " not in the model %s; wrong value %s" % (r["path"], r["host"], missing or "none", extra or "none",
                                                  ["%s=%s (model %s)" % (k, have[k], r["want"][k]) for k in wrong]
                                                  or "none")


def _servers(spec, fe):
    """The addresses of the HAProxy backend's servers (the runtime API's ``show servers state``)."""
    script = ("import socket,sys;s=socket.socket(socket.AF_UNIX);s.settimeout(3);s.connect(sys.argv[1]);"
              "s.sendall(b'show servers state %s\\n');d=b''\n"
              "while True:\n c=s.recv(65536)\n if not c: break\n d+=c\n"
              "import json;print(json.dumps(d.decode()))" % fe["backend"])
    state = spec.states[fe["host"]]
    command = "%s -c %s %s" % (state.python, shlex.quote(script), fe["socket"])
    text = state.read("haproxy servers %s" % fe["backend"], command)
    out = set()
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) > 4 and not line.startswith("#") and parts[1] == fe["backend"] and parts[4] != "-":
            out.add(parts[4])
    return out


def test_lb_backends_equal_the_catalog(spec, lb_frontend):
    """The entry point's servers of a service are the addresses the catalog holds for it."""
    fe = lb_frontend
    base = fe["prefix"].rstrip("/") + "/services/%s/" % fe["service"]
    catalog = set(v.rsplit(":", 1)[0] for k, v in _keys(spec, fe["host"], fe["endpoints"], fe["prefix"]).items()
                  if k.startswith(base))
    servers = _servers(spec, fe)
    assert servers == catalog, "%s: HAProxy's %s serves %s, the catalog holds %s" % (
        fe["path"], fe["backend"], sorted(servers) or "nothing", sorted(catalog) or "nothing")


_READ = "import json,sys\ntry:\n    t = open(sys.argv[1]).read()\nexcept (IOError, OSError):\n    t = None\nprint(json.dumps(t))"


def test_service_name(spec, service_name):
    """A dnsmasq that answers ``<service>.svc.<domain>`` (its zone may reach the service's network) holds the
    catalog's members of the service as that name's records."""
    n = service_name
    base = n["prefix"].rstrip("/") + "/services/%s/" % n["service"]
    catalog = set(v.rsplit(":", 1)[0] for k, v in _keys(spec, n["host"], n["endpoints"], n["prefix"]).items()
                  if k.startswith(base))
    state = spec.states[n["host"]]
    text = state.read("record file %s" % n["file"], "%s -c %s %s" % (state.python, shlex.quote(_READ),
                                                                     shlex.quote(n["file"])))
    assert text is not None, "%s: %s is missing: its dnsmasq does not answer %s" % (n["path"], n["file"], n["fqdn"])
    have = set(line.split()[0] for line in text.splitlines()
               if line.strip() and not line.startswith("#") and line.split()[1:] == [n["fqdn"]])
    assert have == catalog, "%s: %s answers %s, the catalog holds %s" % (
        n["path"], n["fqdn"], sorted(have) or "nothing", sorted(catalog) or "nothing")
