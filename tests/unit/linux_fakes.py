"""A fake NetlinkSession for planner tests: links and addresses in memory, calls recorded."""


def link(index, ifname, kind=None, alias=None, mtu=1500, mac="02:00:00:00:00:%02x", up=True, master=None,
         peer=None, data=None, slave=None):
    return {"index": index, "ifname": ifname, "kind": kind, "slave_kind": None, "alias": alias, "mtu": mtu,
            "mac": mac % index if "%" in mac else mac, "up": up, "operstate": "UP" if up else "DOWN",
            "master": master, "link": peer, "link_netnsid": None, "data": data or {}, "slave": slave or {},
            "ipv6_disabled": False}


class NoOvs:
    """A Context's OVSDB transaction on a host without Open vSwitch."""

    def available(self):
        return False

    def socket_exists(self):
        return False


class FakeSession:
    def __init__(self, links=(), addresses=None, routes=None, check_mode=False, namespaces=None, rules=None,
                 qdiscs=None):
        self.check_mode = check_mode
        self.ovs = NoOvs()
        self.ns = {None: {l["ifname"]: l for l in links}}
        for path, ns_links in (namespaces or {}).items():
            self.ns[path] = {l["ifname"]: l for l in ns_links}
        self.addrs = addresses or {}
        self.route_table = routes or {}
        self.rule_table = rules or {}
        self.qdisc_table = qdiscs or {}
        self.calls = []

    def links(self, netns=None):
        return self.ns.setdefault(netns, {})

    def link(self, name, netns=None):
        return self.links(netns).get(name)

    def read_link(self, name, netns=None):
        return self.link(name, netns)

    def ipv6_disabled(self, name, netns=None):
        found = self.links(netns).get(name)
        return found["ipv6_disabled"] if found else None

    def link_by_index(self, index, netns=None):
        for l in self.links(netns).values():
            if l["index"] == index:
                return l
        return None

    def link_addresses(self, index, netns=None, include_link_local=False):
        return list(self.addrs.get((netns, index), []))

    def routes(self, netns=None, table=254):
        return [r for r in self.route_table.get(netns, []) if table is None or r.get("table", 254) == table]

    def rules(self, netns=None):
        return list(self.rule_table.get(netns, []))

    def qdiscs(self, netns=None):
        return list(self.qdisc_table.get(netns, []))

    def flood_remotes(self, index, netns=None):
        return []

    def netnsid(self, netns):
        return None

    def invalidate(self, netns=None):
        pass

    def expect(self, name, kind, netns=None, mtu=1500, alias=None, master=None, up=True):
        """_contract.Context.expect over this fake's links."""
        if self.check_mode and name not in self.links(netns):
            index = -1 - len(self.links(netns))
            master_link = self.link(master, netns) if master else None
            self.links(netns)[name] = link(index, name, kind=kind, alias=alias, mtu=mtu, up=up,
                                           master=master_link["index"] if master_link else None)

    def call(self, verb, what, name, method, *args, **kwargs):
        self.calls.append((method, args, kwargs))
        return []
