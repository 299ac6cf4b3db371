# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the live hosts must look like, derived from the model (pure: no host access).

Everything here is computed from the normalized model and the per-host plans of
``plugin_utils/model`` (the same plans ``site.yml`` applies), so the audit and the build can
never disagree about what the model means. Each expectation carries ``id`` (the
pytest id: it names the model element) and ``path`` (its place in the model, for
assertion messages).
"""

from __future__ import annotations

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._host.attach_params import normalize_kind

MODEL_VARS = ("netwire_zones", "netwire_networks", "netwire_containers", "netwire_dns", "netwire_control_plane",
              "netwire_catalog", "netwire_lb", "netwire_encryption", "netwire_trunks")
HOST_VARS = ("netwire_host", "netwire_host_defaults", "netwire_lab_underlay_ip", "ansible_facts", "ansible_host")


def model_inputs(hostvars):
    """(model, hosts) for ``_model.analyze`` from ``{host: variables}``, like netwire_validate does."""
    model = {}
    first = sorted(hostvars)[0] if hostvars else None
    for var in MODEL_VARS:
        model[var] = hostvars[first].get(var) if first else None
    hosts = {}
    for name, hvars in hostvars.items():
        hosts[name] = dict((v, hvars[v]) for v in HOST_VARS if hvars.get(v) is not None)
    return model, hosts


def inconsistent(hostvars):
    """Hosts that see another model than the first host (the model must be defined once, for all)."""
    names = sorted(hostvars)
    out = []
    for var in MODEL_VARS:
        for name in names[1:]:
            if hostvars[name].get(var) != hostvars[names[0]].get(var):
                out.append("hostvars.%s.%s differs from what host %s sees" % (name, var, names[0]))
    return out


# ---------------------------------------------------------------- per host

def bridges(plans):
    """Every bridge a host must have: the networks' bridges and the netdev underlay bridge."""
    out = []
    for host in sorted(plans):
        p = plans[host]
        u = p["underlay"]
        if u.get("bridge"):
            out.append({"id": "%s-%s" % (host, u["bridge"]), "host": host, "name": u["bridge"], "kind": "ovs",
                        "mtu": u["mtu"], "address": "%s/%d" % (u["address"], u["prefix"]),
                        "path": "netwire_host.underlay_interface (host %s, underlay bridge)" % host,
                        "mtu_path": "netwire_host.underlay_mtu (host %s)" % host})
        fakes = dict((b["name"], b) for b in p["ovs_bridges"] if b.get("parent"))
        for net in sorted(p["networks"]):
            n = p["networks"][net]
            entry = {"id": "%s-%s" % (host, n["bridge"]), "host": host, "name": n["bridge"],
                     "kind": n["backend"], "mtu": n["mtu"], "address": n["address"], "mac": n.get("mac"),
                     "network": net,
                     "path": "netwire_networks.%s (bridge %s on host %s)" % (net, n["bridge"], host),
                     "mtu_path": "netwire_networks.%s.mtu" % net}
            if n["bridge"] in fakes:  # issue 19: a VLAN of a trunk, a fake VLAN bridge of the trunk's bridge
                entry.update(parent=fakes[n["bridge"]]["parent"], vlan=fakes[n["bridge"]]["vlan"], trunk=n.get("trunk"))
            out.append(entry)
        for trunk, name in trunk_bridges(p):
            out.append({"id": "%s-%s" % (host, name), "host": host, "name": name, "kind": "ovs-trunk",
                        "path": "netwire_trunks.%s (bridge %s on host %s)" % (trunk, name, host)})
    return out


def trunk_bridges(plan):
    """``(trunk, bridge)`` of the trunks a host's plan builds: the parents of its fake VLAN bridges, and the
    trunk bridges of its tunnel meshes (a trunk without a network on this host)."""
    found = dict((t["bridge"], t["network"].split(":", 1)[1]) for t in plan["ovs_tunnels"]
                 if t["network"].startswith("trunk:"))
    for n in plan["networks"].values():
        for b in plan["ovs_bridges"]:
            if b["name"] == n["bridge"] and b.get("parent") and n.get("trunk"):
                found.setdefault(b["parent"], n["trunk"])
    return sorted((trunk, name) for name, trunk in found.items())


def tunnels(plans):
    """Per host and overlay network: the tunnel objects and the exact set of peers."""
    out = []
    for host in sorted(plans):
        p = plans[host]
        by_net = {}
        for t in p["linux_tunnels"]:
            net = [n for n, v in p["networks"].items() if v["bridge"] == t["master"]][0]
            by_net.setdefault(net, {"backend": "linux", "devices": []})["devices"].append(t)
        for t in p["ovs_tunnels"]:
            by_net[t["network"]] = {"backend": "ovs", "tunnel": t}
        for net in sorted(by_net):
            if net.startswith("trunk:"):  # a trunk's mesh (netwire_trunks)
                where = "netwire_trunks.%s (overlay %s on host %s)" % (
                    net.split(":", 1)[1], by_net[net]["tunnel"]["type"], host)
            else:
                where = "netwire_networks.%s (overlay %s on host %s)" % (net, p["networks"][net]["overlay"], host)
            entry = dict(by_net[net], id="%s-%s" % (host, net), host=host, network=net, path=where)
            if entry["backend"] == "linux" and p["networks"][net].get("control") == "evpn":
                # BGP EVPN: zebra's flood entries, exactly the network's other hosts (none of them ours)
                entry["remotes"] = sorted(p["networks"][net].get("vteps") or [])
            elif entry["backend"] == "linux":
                entry["remotes"] = sorted(r for d in entry["devices"] for r in d["remotes"])
            else:
                entry["remotes"] = sorted(entry["tunnel"]["remotes"])
            out.append(entry)
    return out


def bgp_sessions(plans):
    """Every BGP EVPN session the model implies: per speaker (a plan with ``frr``), one per neighbour."""
    out = []
    for host in sorted(plans):
        frr = plans[host].get("frr")
        for peer in (frr or {}).get("neighbors", []):
            out.append({"id": "%s-%s" % (host, peer), "host": host, "peer": peer, "asn": frr["asn"],
                        "router_id": frr["router_id"],
                        "path": "netwire_control_plane (host %s, session to %s)" % (host, peer)})
    return out


def evpn_vnis(plans):
    """Per host and EVPN network: its VNI, VXLAN device and remote VTEPs (the network's other hosts)."""
    out = []
    for host in sorted(plans):
        p = plans[host]
        for t in p["linux_tunnels"]:
            if t.get("control") != "evpn":
                continue
            net = [n for n, v in p["networks"].items() if v["bridge"] == t["master"]][0]
            out.append({"id": "%s-%s" % (host, net), "host": host, "network": net, "vni": t["vni"],
                        "device": t["name"], "local": t["local"], "vteps": sorted(p["networks"][net]["vteps"]),
                        "path": "netwire_networks.%s (control evpn, VNI %d on host %s)" % (net, t["vni"], host)})
    return out


def attachments(plans, model):
    """Every container interface, with the container and interface index it comes from."""
    out = []
    containers = model["containers"]
    for host in sorted(plans):
        for a in plans[host]["attachments"]:
            if is_direct(a):
                continue  # on no network: direct_interfaces()
            cname = [c for c in sorted(containers) if containers[c]["host"] == host and
                     containers[c]["ref"] == a["container"] and
                     any(i["ifname"] == a["ifname"] for i in containers[c]["interfaces"])][0]
            index = [i for i, itf in enumerate(containers[cname]["interfaces"]) if itf["ifname"] == a["ifname"]][0]
            out.append({"id": "%s.%s" % (cname, a["ifname"]), "host": host, "container": cname,
                        "ref": a["container"], "ref_type": a["container_type"], "attach": a,
                        "path": "netwire_containers.%s.interfaces[%d]" % (cname, index)})
    return out


def is_direct(attach):
    """A macvlan, VLAN, NIC or dummy interface (issue 19): on no netwire network, no veth, no bridge."""
    return attach.get("kind") not in (None, "veth")


def direct_interfaces(plans, model):
    """Every direct container interface, in the form container_attach normalizes it to (macvlan_mode's
    default, a phys ``parent`` split into a name or ``parent_mac``) and with the host link it hangs on
    (``lower``: the NIC, or its VLAN sub-interface)."""
    out = []
    containers = model["containers"]
    for host in sorted(plans):
        for a in plans[host]["attachments"]:
            if not is_direct(a):
                continue
            cname, itf = [(c, i) for c in sorted(containers) if containers[c]["host"] == host
                          and containers[c]["ref"] == a["container"] for i in containers[c].get("direct", [])
                          if (i.get("attach") or {}).get("ifname") == a["ifname"]][0]
            want = dict(a)
            normalize_kind(want)
            lower = None
            if want["kind"] == "macvlan":
                lower = want["parent"]
            elif want["kind"] == "vlan":
                lower = _names.vlan_link_name(want["parent"], want["vlan"])
            out.append({"id": "%s.%s" % (cname, a["ifname"]), "host": host, "container": cname,
                        "ref": a["container"], "ref_type": a["container_type"], "attach": want, "lower": lower,
                        "path": itf["path"]})
    return out


def direct_host_links(plans, model):
    """The host links the direct interfaces share: a NIC's host-side macvlan (the host reaches its macvlan
    containers through it) and a NIC's VLAN sub-interface, each once per host, with who asks for it."""
    links = {}
    for d in direct_interfaces(plans, model):
        a = d["attach"]
        if a["kind"] == "vlan":
            entry = links.setdefault((d["host"], d["lower"]), {
                "id": "%s-%s" % (d["host"], d["lower"]), "host": d["host"], "name": d["lower"], "kind": "vlan",
                "link": a["parent"], "vlan": a["vlan"], "addresses": [], "users": [], "paths": []})
            entry["users"].append(d["id"])
            entry["paths"].append(d["path"])
        if a.get("host_macvlan") is not None:
            name = _names.host_macvlan_name(d["lower"])
            entry = links.setdefault((d["host"], name), {
                "id": "%s-%s" % (d["host"], name), "host": d["host"], "name": name, "kind": "macvlan",
                "link": d["lower"], "mode": "bridge", "addresses": [], "users": [], "paths": []})
            entry["addresses"] = sorted(set(entry["addresses"]) | set(a["host_macvlan"]["addresses"]))
            entry["users"].append(d["id"])
            entry["paths"].append(d["path"] + ".host_macvlan")
    return [dict(links[k], path=" and ".join(links[k]["paths"])) for k in sorted(links)]


def policy_rules(plans, model):
    """One check per container with rules: its rules (and their tables' routes) from the attachment that carries them."""
    out = []
    for a in attachments(plans, model):
        if a["attach"].get("rules"):
            routes = [r for x in attachments(plans, model) if x["container"] == a["container"]
                      for r in x["attach"].get("routes", []) if r.get("table")]
            out.append(dict(a, id=a["container"], routes=routes, ifnames=dict(
                (x["attach"]["ifname"], x["attach"]) for x in attachments(plans, model)
                if x["container"] == a["container"])))
    return out


def policy_qdiscs(plans, model):
    """One check per container interface with a qdisc."""
    return [a for a in attachments(plans, model) if a["attach"].get("qdisc")]


def container_refs(model):
    """{container: (host, ref, ref_type)} of every container of the model."""
    return dict((c, (v["host"], v["ref"], v["ref_type"])) for c, v in model["containers"].items())


# ---------------------------------------------------------------- traffic

def _zone_allows(zones, src_zone, dst_zone):
    return src_zone == dst_zone or dst_zone in (zones.get(src_zone) or {}).get("allow_to", [])


def egress_interface(container, network):
    """The interface a container's packets to ``network`` leave by: a direct one, else its gateway's."""
    for itf in container["interfaces"]:
        if itf["network"] == network:
            return itf
    for itf in container["interfaces"]:
        if itf.get("gateway"):
            return itf
    return None


def pairs(model):
    """Every (source container, destination interface) with whether the model lets it connect.

    Allowed: the same network with icc on, the same zone, or a zone flow the
    destination's zone is in (``allow_to``); a source without a route there
    (no interface on the network, no gateway) is denied.
    """
    nets, zones, containers = model["networks"], model["zones"], model["containers"]
    out = []
    for src in sorted(containers):
        for dst in sorted(containers):
            if src == dst:
                continue
            itfs = containers[dst]["interfaces"]
            for itf in itfs:
                dnet = nets[itf["network"]]
                via = egress_interface(containers[src], itf["network"])
                if via is None:
                    allowed, why = False, "%s has no interface on %s and no gateway" % (src, itf["network"])
                elif via["network"] == itf["network"]:
                    allowed = bool(dnet["icc"])
                    why = "same network %s, icc %s" % (itf["network"], "on" if dnet["icc"] else "off")
                else:
                    snet = nets[via["network"]]
                    allowed = _zone_allows(zones, snet["zone"], dnet["zone"])
                    verdict = "allowed" if allowed else "not allowed"
                    why = "zone %s -> zone %s %s" % (snet["zone"], dnet["zone"], verdict)
                name = "%s->%s" % (src, dst) if len(itfs) == 1 else "%s->%s.%s" % (src, dst, itf["ifname"])
                out.append({"id": name, "src": src, "dst": dst, "address": itf["address"],
                            "ifname": itf["ifname"], "network": itf["network"], "allowed": allowed, "why": why,
                            "same_network": via is not None and via["network"] == itf["network"],
                            "cross_host": containers[src]["host"] != containers[dst]["host"],
                            "mtu": dnet["mtu"],
                            "path": "netwire_zones / netwire_networks.%s (%s)" % (itf["network"], why)})
    return out


def mtu_pairs(model):
    """Allowed pairs on one network across hosts: the path MTU there is the interface MTU."""
    return [p for p in pairs(model) if p["allowed"] and p["same_network"] and p["cross_host"]]


def egress(model):
    """Per container: whether its traffic to the outside is masqueraded (nat of its gateway's network)."""
    out = []
    for cname in sorted(model["containers"]):
        c = model["containers"][cname]
        via = [i for i in c["interfaces"] if i.get("gateway")]
        if not via:
            continue
        net = model["networks"][via[0]["network"]]
        index = c["interfaces"].index(via[0])
        out.append({"id": cname, "container": cname, "nat": bool(net["nat"]), "network": via[0]["network"],
                    "path": "netwire_networks.%s.nat (gateway of netwire_containers.%s.interfaces[%d])"
                    % (via[0]["network"], cname, index)})
    return out


def publications(model):
    """Every published port with the address to knock on."""
    out = []
    for cname in sorted(model["containers"]):
        c = model["containers"][cname]
        for i, pub in enumerate(c["publish"]):
            out.append({"id": "%s:%s/%d" % (cname, pub["proto"], pub["host_port"]), "container": cname,
                        "host": c["host"], "proto": pub["proto"], "host_port": pub["host_port"],
                        "port": pub["port"], "bind": pub["bind"],
                        "path": "netwire_containers.%s.publish[%d]" % (cname, i)})
    return out


def server_ports(model, probe_port):
    """{container: [(proto, port)]} the audit's servers listen on: the probe port and published ports."""
    out = {}
    for cname in sorted(model["containers"]):
        ports = [("tcp", probe_port)]
        for pub in model["containers"][cname]["publish"]:
            if (pub["proto"], pub["port"]) not in ports:
                ports.append((pub["proto"], pub["port"]))
        out[cname] = ports
    return out


# ---------------------------------------------------------------- attacks (negative cases)

def _used_addresses(model):
    used = set()
    for c in model["containers"].values():
        used.update(i["address"] for i in c["interfaces"])
    return used


def _spare_address(model, network):
    """An address of ``network`` that no container of the model holds (the last usable one downwards)."""
    import ipaddress
    net = ipaddress.ip_network(model["networks"][network]["subnet"])
    used = _used_addresses(model)
    for offset in range(2, net.num_addresses - 1):
        candidate = str(net.network_address + (net.num_addresses - offset))
        if candidate not in used:
            return candidate
    return None


def spoofs(model):
    """Per denied pair: the source container sends with an address of a zone that may reach the
    destination (another zone than its own); nothing may arrive."""
    nets, zones, containers = model["networks"], model["zones"], model["containers"]
    out = []
    for p in pairs(model):
        if p["allowed"]:
            continue
        src = containers[p["src"]]
        via = egress_interface(src, p["network"])
        if via is None:
            continue
        own = nets[via["network"]]["zone"]
        dzone = nets[p["network"]]["zone"]
        candidates = [n for n in sorted(nets) if nets[n]["zone"] != own and
                      _zone_allows(zones, nets[n]["zone"], dzone)]
        if not candidates:
            continue
        spoofed = _spare_address(model, candidates[0])
        if spoofed is None:
            continue
        out.append(dict(p, id="%s as %s" % (p["id"], candidates[0]), spoofed=spoofed, as_network=candidates[0],
                        ifname=via["ifname"],
                        path="netwire_zones (%s may not reach %s; a source of %s must not help)" % (
                            p["src"], p["dst"], candidates[0])))
    return out


def injections(model, plans):
    """Hand-made VXLAN/Geneve frames from every container to every overlay port of another network
    that has a container behind it: the victim must receive nothing."""
    nets, containers = model["networks"], model["containers"]
    out = []
    for net_name in sorted(nets):
        net = nets[net_name]
        if net["overlay"] not in ("vxlan", "geneve"):
            continue   # GRE has no port; its endpoints are checked by the nft rules
        victims = [(c, i) for c in sorted(containers) for i in containers[c]["interfaces"]
                   if i["network"] == net_name]
        for vname, vitf in victims:
            vhost = containers[vname]["host"]
            if vhost not in plans or len(net["hosts"]) < 2:
                continue
            target = plans[vhost]["underlay"]["address"]
            for attacker in sorted(containers):
                if any(i["network"] == net_name for i in containers[attacker]["interfaces"]):
                    continue   # it is on that network already
                out.append({"id": "%s->%s:%d vni %d->%s" % (attacker, vhost, net["port"], net["key"], vname),
                            "src": attacker, "victim": vname, "victim_ifname": vitf["ifname"],
                            "victim_address": vitf["address"], "target": target, "port": net["port"],
                            "overlay": net["overlay"], "vni": net["key"], "network": net_name,
                            "fake_source": _spare_address(model, net_name),
                            "path": "netwire_networks.%s (tunnel endpoint on %s)" % (net_name, vhost)})
            break   # one victim per network
    return out


def host_ssh(model, port=22):
    """Every container against every host's management address: must not connect."""
    out = []
    for cname in sorted(model["containers"]):
        for host in sorted(model["hosts"]):
            address = model["hosts"][host].get("management_address")
            if not address:
                continue
            out.append({"id": "%s->%s" % (cname, host), "src": cname, "host": host, "address": address,
                        "port": port, "path": "hosts (management address of %s)" % host})
    return out


# ---------------------------------------------------------------- names and DHCP (plan key dns)

# What a name outside the domain gets from a server without forwarders (``forward: []``): dnsmasq
# 2.90 with no upstream server answers REFUSED (seen on the lab).
OUTSIDE_NAME = "example.org"
RCODE_NOERROR, RCODE_NXDOMAIN, RCODE_REFUSED = 0, 3, 5


def dns_servers(plans):
    """Every ``dns`` entry of every host (one dnsmasq per network bridge), id ``<host>-<network>``."""
    out = []
    for host in sorted(plans):
        for entry in plans[host].get("dns") or []:
            out.append({"id": "%s-%s" % (host, entry["network"]), "host": host, "entry": entry,
                        "path": "netwire_dns / netwire_networks.%s (DNS server %s on %s, bridge %s)" % (
                            entry["network"], entry["address"], host, entry["interface"])})
    return out


def dhcp_servers(plans):
    """The ``dns`` entries with ``dhcp: true``."""
    return [dict(s, path="netwire_networks.%s.dhcp (DHCP server on %s, bridge %s)" % (
        s["entry"]["network"], s["host"], s["entry"]["interface"])) for s in dns_servers(plans) if s["entry"]["dhcp"]]


def dhcp_leases(plans, model):
    """Every attachment that takes its address by DHCP, with the reservation its host's server holds."""
    out = []
    for a in attachments(plans, model):
        att = a["attach"]
        if not att.get("dhcp"):
            continue
        entries = [e for e in plans[a["host"]].get("dns") or [] if e["interface"] == att["bridge"]]
        out.append(dict(a, address=att["addresses"][0].split("/")[0], mac=att["mac"],
                        server=entries[0] if entries else None,
                        path="%s (address: dhcp on %s)" % (a["path"], att["network"])))
    return out


def _stub(name, search, records):
    """The names a stub resolver tries for ``name`` (the search domains appended in order), and the
    record the first existing one is (None: every try is NXDOMAIN)."""
    tries = ["%s.%s" % (name, s) for s in search]
    for i, full in enumerate(tries):
        if full in records:
            return tries[:i + 1], full
    return tries, None


def name_checks(plans, model):
    """The name matrix, from the plans: for every container whose attachment has a ``resolver``, the
    server's ``dns`` entry (same host, ``address`` = the resolver's first server).

    ``resolves``: every record of that entry, and the short names ``<container>.<network>`` and
    ``<container>`` where the search path leads to a record, must resolve to the record's addresses;
    ``hidden``: every container name of the model that is not in the entry's records must be NXDOMAIN;
    ``refused``: with ``forward: []``, a name outside the domain is answered REFUSED.
    Each item: ``id``, ``container``, ``host``, ``server``, ``names`` (tried in order), ``want``
    (addresses, or None), ``rcode`` (the wanted answer code), ``path``.
    """
    everything = set()
    for cname, c in model["containers"].items():
        for itf in c["interfaces"]:
            everything.add((cname, itf["network"]))
    resolves, hidden, refused = [], [], []
    for a in attachments(plans, model):
        resolver = a["attach"].get("resolver")
        if not resolver or not resolver.get("servers"):
            continue
        host, cname, server = a["host"], a["container"], resolver["servers"][0]
        entries = [e for e in plans[host].get("dns") or [] if e["address"] == server]
        if not entries:
            continue   # a resolver without a server of ours: nothing the model promises to answer
        entry = entries[0]
        where = "netwire_dns, zone view of netwire_networks.%s (server %s on %s, asked by %s)" % (
            entry["network"], server, host, cname)
        base = {"container": cname, "host": host, "server": server, "network": entry["network"],
                "ifname": a["attach"]["ifname"], "path": where}
        records = {}
        for r in entry["records"]:
            records.setdefault(r["name"], []).append(r["address"])
        for name in sorted(records):
            resolves.append(dict(base, id="%s->%s" % (cname, name), names=[name], record=name,
                                 want=sorted(records[name]), rcode=RCODE_NOERROR))
        domain = entry["domain"]
        short = set()
        for name in records:
            if not name.endswith("." + domain):
                continue
            labels = name[:-len(domain) - 1].split(".")
            short.update([".".join(labels), labels[0]])
        for name in sorted(short):
            tries, record = _stub(name, entry["search"], records)
            if record is not None:
                resolves.append(dict(base, id="%s->%s" % (cname, name), names=tries, record=record,
                                     want=sorted(records[record]), rcode=RCODE_NOERROR))
        for other, net in sorted(everything):
            full = "%s.%s.%s" % (other, net, domain)
            if full not in records:
                hidden.append(dict(base, id="%s->%s" % (cname, full), names=[full], record=None, want=None,
                                   rcode=RCODE_NXDOMAIN,
                                   path="%s: %s is outside the view" % (where, full)))
        if not entry["forward"]:
            refused.append(dict(base, id=cname, names=[OUTSIDE_NAME], record=None, want=None, rcode=RCODE_REFUSED,
                                path="netwire_dns.forward is empty (server %s on %s, asked by %s)" % (
                                    server, host, cname)))
    return {"resolves": resolves, "hidden": hidden, "refused": refused}


# ---------------------------------------------------------------- the catalog and the entry point (issue 17)

def catalog_members(plans):
    """Each catalog member: healthy, with quorum (a quorum read answers and it knows a leader)."""
    out = []
    for host in sorted(plans):
        c = plans[host].get("catalog")
        if c:
            out.append({"id": "%s-etcd" % host, "host": host, "url": "http://%s:2379" % c["address"],
                        "members": len(c["initial_cluster"]), "path": "netwire_catalog.members (%s)" % host})
    return out


def catalog_registrations(plans):
    """Each host's keys in the catalog: exactly its own containers' services (``{key: address:port}``)."""
    from ansible_collections.netwire.fabric.plugins.module_utils import _names
    out = []
    for host in sorted(plans):
        r = plans[host].get("registration")
        if r is None:
            continue
        want = dict((_names.service_key(r["prefix"], s["service"], host, s["container"]),
                     "%s:%d" % (s["address"], s["port"])) for s in r["services"])
        out.append({"id": "%s-services" % host, "host": host, "prefix": r["prefix"], "endpoints": r["endpoints"],
                    "want": want, "path": "netwire_containers.*.services (host %s)" % host})
    return out


def lb_frontends(plans):
    """Each frontend of the entry point: its backend's servers are the service's members in the catalog."""
    from ansible_collections.netwire.fabric.plugins.module_utils import _names
    out = []
    for host in sorted(plans):
        lb = plans[host].get("lb")
        if not lb:
            continue
        for fe in lb["frontends"]:
            out.append({"id": "%s-lb-%d" % (host, fe["port"]), "host": host, "service": fe["service"],
                        "port": fe["port"], "backend": "be-%s-%d" % (fe["service"], fe["port"]),
                        "prefix": lb["prefix"], "endpoints": lb["endpoints"],
                        "socket": _names.lb_paths(lb["name"])["socket"],
                        "path": "netwire_lb.frontends (port %d, service %s)" % (fe["port"], fe["service"])})
    return out


def service_names(plans):
    """Each dnsmasq record file of a service's name (``<service>.svc.<domain>``): a host's names watch's, for each
    bridge its registration lists, and the entry point's own on the LB host; it holds the catalog's members."""
    from ansible_collections.netwire.fabric.plugins.module_utils import _names
    out = []
    for host in sorted(plans):
        r = plans[host].get("registration")
        if r is None:
            continue
        files = [(n["service"], n["fqdn"], b, "registration names") for n in r.get("names") or [] for b in n["bridges"]]
        lb = plans[host].get("lb")
        files += [(fe["service"], fe["fqdn"], fe["bridge"], "the entry point") for fe in (lb or {}).get("frontends") or []]
        for service, fqdn, bridge, who in sorted(set(files)):
            out.append({"id": "%s-%s-%s" % (host, bridge, service), "host": host, "service": service, "fqdn": fqdn,
                        "file": _names.service_hosts_file(bridge, service), "prefix": r["prefix"],
                        "endpoints": r["endpoints"],
                        "path": "%s.svc (host %s, bridge %s: %s)" % (service, host, bridge, who)})
    return out


def wireguard_devices(plans):
    """Every host's WireGuard device (encrypted networks), id ``<host>-<device>``."""
    out = []
    for host in sorted(plans):
        for entry in plans[host].get("wireguard") or []:
            out.append({"id": "%s-%s" % (host, entry["name"]), "host": host, "entry": entry,
                        "path": "netwire_encryption / encrypted networks (WireGuard %s on %s, %s)" % (
                            entry["name"], host, entry["address"])})
    return out
