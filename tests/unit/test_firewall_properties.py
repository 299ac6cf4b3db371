"""Property tests of the firewall planner (hypothesis): no crash, and the batch carries the whole plan."""

from hypothesis import given, settings, strategies as st

from ansible_collections.netwire.fabric.plugins.module_utils._firewall import planner as fw

from ansible_collections.netwire.fabric.plugins.module_utils._firewall import ruleset as rs
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter

junk = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), st.text(max_size=20),
                 st.sampled_from(["10.1.0.0/24", "10.1.0.5", "0.0.0.0", "127.0.0.1", "tcp", "udp", "a", "br-a"]),
                 st.lists(st.integers(), max_size=2))
keys = st.sampled_from(["name", "subnet", "bridge", "nat", "icc", "zone", "from", "to", "network", "proto",
                        "host_port", "bind_address", "container_address", "container_port"])
junk_dicts = st.lists(st.dictionaries(keys, junk, max_size=8), max_size=4)


@settings(max_examples=300, deadline=None)
@given(junk_dicts, junk_dicts, junk_dicts, st.one_of(st.none(), st.text(max_size=5), st.just("netwire")))
def test_any_input_is_planned_or_rejected_cleanly(networks, flows, publications, table_name):
    try:
        spec = fw.build_spec(networks, flows, publications, table_name)
    except InvalidParameter as err:
        assert str(err).startswith("Failed to plan firewall ")
        return
    rs.render(fw.plan_ruleset(spec))


@st.composite
def valid_params(draw):
    n = draw(st.integers(0, 6))
    zones = draw(st.lists(st.sampled_from(["dmz", "app", "db"]), min_size=n, max_size=n))
    nets = []
    for i in range(n):
        net = {"name": "n%d" % i, "subnet": "10.%d.%d.0/%d" % (i + 1, 0, draw(st.sampled_from([16, 24, 28]))),
               "bridge": "nw-n%d" % i, "nat": draw(st.booleans()), "icc": draw(st.booleans())}
        if draw(st.booleans()):
            net["zone"] = zones[i]
        nets.append(net)
    zone_names = sorted(set(net.get("zone") or net["name"] for net in nets))
    flows = []
    if zone_names:
        for _flow in range(draw(st.integers(0, 4))):
            flows.append({"from": draw(st.sampled_from(zone_names)), "to": draw(st.sampled_from(zone_names))})
    pubs = []
    used = set()
    for j in range(draw(st.integers(0, 4)) if nets else 0):
        net = draw(st.sampled_from(nets))
        port = draw(st.integers(1, 65535))
        proto = draw(st.sampled_from(["tcp", "udp"]))
        bind = draw(st.sampled_from(["198.19.0.11", "127.0.0.1", "0.0.0.0", "198.19.0.12"]))
        if (proto, port) in used:
            continue
        used.add((proto, port))
        prefix = net["subnet"].rsplit(".", 1)[0]
        pubs.append({"name": "p%d" % j, "network": net["name"], "proto": proto, "host_port": port,
                     "bind_address": bind, "container_address": prefix + ".%d" % draw(st.integers(2, 14)),
                     "container_port": draw(st.integers(1, 65535))})
    return nets, flows, pubs


def listing_from_batch(batch):
    """What ``nft -j list ruleset`` would print after running ``batch`` on an empty ruleset."""
    tables, handle = {}, [0]

    def next_handle():
        handle[0] += 1
        return handle[0]
    for cmd in batch["nftables"]:
        (verb, body), = cmd.items()
        (kind, obj), = body.items()
        if kind == "table":
            key = (obj["family"], obj["name"])
            if verb == "delete":
                tables.pop(key, None)
            else:
                tables.setdefault(key, [{"table": dict(obj, handle=next_handle())}])
        else:
            key = (obj["family"], obj["table"])
            tables[key].append({kind: dict(obj, handle=next_handle())})
    items = [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}]
    for key in tables:
        items.extend(tables[key])
    return {"nftables": items}


@settings(max_examples=200, deadline=None)
@given(valid_params())
def test_the_batch_rebuilds_exactly_the_plan(params):
    nets, flows, pubs = params
    desired = fw.plan_ruleset(fw.build_spec(nets, flows, pubs))
    batch = rs.transaction(desired, [], fw.table_names())
    assert rs.normalize_listing(listing_from_batch(batch), fw.table_names()) == desired
    # canonical form is a fixed point, and rendering is deterministic
    assert rs.canonical_ruleset(desired) == desired
    assert rs.render(desired) == rs.render(rs.canonical_ruleset(desired))


@settings(max_examples=100, deadline=None)
@given(valid_params())
def test_only_owned_tables_in_any_batch(params):
    nets, flows, pubs = params
    desired = fw.plan_ruleset(fw.build_spec(nets, flows, pubs, "edge"))
    current = [("inet", "edge"), ("bridge", "edge_icc"), ("inet", "sentinel")]
    batch = rs.transaction(desired, current, fw.table_names("edge"))
    owned = set(fw.table_names("edge"))
    for cmd in batch["nftables"]:
        (verb, body), = cmd.items()
        (kind, obj), = body.items()
        assert (obj["family"], obj.get("table", obj.get("name"))) in owned
