# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read, compare, plan, apply: the firewall's manager (used by the module and by host_network).

One ``nft -j list ruleset`` read, one atomic ``nft -j -f -`` batch; only the
tables named by :func:`_firewall.owned_tables` are ever part of the batch.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.netwire.fabric.plugins.module_utils._firewall import planner as fw

from ansible_collections.netwire.fabric.plugins.module_utils._firewall import ruleset as rs
from ansible_collections.netwire.fabric.plugins.module_utils._firewall import host_firewalls as hostfw
from ansible_collections.netwire.fabric.plugins.module_utils._contract import Manager, Result
from ansible_collections.netwire.fabric.plugins.module_utils._diff import DifferenceTracker


def _read_sysctl(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return None


class FirewallManager(Manager):
    """The firewall's tables (``params``: the firewall module's, ``state`` picks present or absent).

    The nft client is the run's (``ctx.nft``). The ruleset is listed once per
    manager: :meth:`current` and the convergence share the listing.
    """

    kind = "firewall"

    def __init__(self, ctx, params=None, proc_root="/proc"):
        super(FirewallManager, self).__init__(ctx, params or {})
        self.client = ctx.nft
        self.table_name = self.raw_params.get("table_name") or fw.DEFAULT_TABLE_NAME
        self.proc_root = proc_root
        self.tracker = DifferenceTracker()
        self.warnings = []
        self._listing = None

    @property
    def owned(self):
        return fw.owned_tables(self.table_name)

    def listing(self):
        """``nft -j list ruleset``, read once by this manager."""
        if self._listing is None:
            self._listing = self.client.list_ruleset()
        return self._listing

    def current(self):
        return rs.normalize_listing(self.listing(), self.owned)

    def run(self):
        p = self.raw_params
        if p.get("state", "present") == "absent":
            return self.absent()
        return self.present(p["networks"], p.get("flows"), p.get("publications"), tunnels=p.get("tunnels"),
                            host_addresses=p.get("host_addresses"), host_services=p.get("host_services"))

    def present(self, networks, flows=None, publications=None, tunnels=None, host_addresses=None,
                host_services=None):
        spec = fw.build_spec(networks, flows, publications, self.table_name, tunnels=tunnels,
                             host_addresses=host_addresses, host_services=host_services)
        self._warn_sysctls(spec)
        return self._converge(fw.plan_ruleset(spec), [(n.name, n.bridge, str(n.subnet)) for n in spec.networks])

    def absent(self):
        return self._converge({"tables": []}, [])

    def _converge(self, desired, networks):
        listing = self.listing()
        current = rs.normalize_listing(listing, self.owned)
        # the host's other firewalls (Docker's DOCKER-USER): raises before anything is applied
        host_before, host_after, host_cmds = hostfw.changes(
            hostfw.plan(listing, self.owned, networks, self.table_name))
        now = rs.present_tables(current)
        wanted = rs.present_tables(desired)
        by_key = dict(((t["family"], t["name"]), t) for t in current["tables"])
        for table in desired["tables"]:
            key = (table["family"], table["name"])
            if key not in by_key:
                self.tracker.add("table %s %s" % key, None, table, "create table %s %s" % key)
            else:
                self.tracker.add("table %s %s" % key, by_key[key], table, "replace table %s %s" % key)
        for key in now:
            if key not in wanted:
                self.tracker.add("table %s %s" % key, by_key[key], None, "delete table %s %s" % key)
        if host_cmds:
            self.tracker.add("rules in other firewalls", host_before, host_after,
                             "set netwire's rules in other firewalls' chains: %s" % (
                                 ", ".join(sorted(set(r["chain"] for r in host_before + host_after)))))
        batch = rs.transaction(desired, now, self.owned)
        batch["nftables"].extend(host_cmds)
        if self.tracker.changed:
            # check mode still asks the kernel whether the batch would be accepted
            self.client.apply(batch, check=self.check_mode)
        self._listing = None  # the ruleset changed: a later read lists it again
        return Result(self.tracker.changed, self.tracker.actions, {
            "before": rs.render(current) + hostfw.render(host_before),
            "after": rs.render(desired) + hostfw.render(host_after),
            "before_header": "nftables tables of %s (before)" % self.table_name,
            "after_header": "nftables tables of %s (after)" % self.table_name,
        }, self.warnings, label=self.table_name, tables=["%s %s" % key for key in wanted], ruleset=desired,
            host_firewall_rules=host_after)

    def _warn_sysctls(self, spec):
        forward = _read_sysctl(os.path.join(self.proc_root, "sys/net/ipv4/ip_forward"))
        if spec.networks and forward == "0":
            self.warnings.append(
                "net.ipv4.ip_forward is 0 in this network namespace: NAT, published ports and zone flows "
                "need IPv4 forwarding, which the fabric role (host_prep) enables")
        if spec.loopback_publications:
            loopback_nets = set(p.network for p in spec.loopback_publications)
            for net in spec.networks:
                if net.name not in loopback_nets:
                    continue
                values = [_read_sysctl(os.path.join(self.proc_root, "sys/net/ipv4/conf", dev, "route_localnet"))
                          for dev in ("all", net.bridge)]
                if "1" not in values:
                    self.warnings.append(
                        "publications bound to a loopback address on network '%s' need "
                        "net.ipv4.conf.%s.route_localnet=1 (or .all.) to reach the container; it is off"
                        % (net.name, net.bridge))
