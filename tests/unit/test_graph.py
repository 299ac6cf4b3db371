"""Pictures of the model (plugins/plugin_utils/graph): golden DOT and Mermaid, counts, escaping, large models.

The golden files are tests/unit/fixtures/graph/*; after a deliberate change of the pictures, rewrite
them with NETWIRE_GOLDEN_UPDATE=1 and review the diff.
"""

import copy
import itertools
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ansible_collections.netwire.fabric.plugins.plugin_utils import graph
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as m
from ansible_collections.netwire.fabric.plugins.plugin_utils.graph.render import dot_quote, mermaid_text
from ansible_collections.netwire.fabric.plugins.plugin_utils.graph.scene import LARGE_NODES, STAR_TUNNELS, size
from ansible_collections.netwire.fabric.plugins.module_utils._names import ovs_tunnel_port_name

from tests.unit import graph_cases
from tests.unit.model_cases import demo

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "graph"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "graph"
DOT = shutil.which("dot")
DOT_LINE = re.compile(r'^\s*"([^"]+)"( -> "([^"]+)")? \[id="([^"]+)"')


def demo_model():
    model, host_vars = demo()
    return graph_cases.normalized(model, host_vars)


def golden(name, text):
    path = GOLDEN / name
    if os.environ.get("NETWIRE_GOLDEN_UPDATE") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), "%s differs from the golden file (NETWIRE_GOLDEN_UPDATE=1 rewrites it)" % name


@pytest.mark.parametrize("name", ["topology.dot", "topology.mmd", "zones.dot", "zones.mmd"])
def test_small_model_matches_the_golden_files(name):
    golden("small-" + name, graph.files(graph_cases.small())[name])


def test_the_docs_pictures_are_the_demos():
    """docs/graph holds the demo's pictures as the code draws them (the SVGs are rendered from these .dot)."""
    files = graph.files(demo_model())
    for name in ("topology.dot", "topology.mmd", "zones.dot", "zones.mmd"):
        assert (DOCS / ("demo-" + name)).read_text() == files[name], "docs/graph/demo-%s is stale" % name
    assert "```mermaid\n%s```\n" % files["topology.mmd"] in (DOCS.parent / "graph.md").read_text()
    for name in ("demo-topology.svg", "demo-zones.svg", "demo-observed-drift.svg"):
        assert (DOCS / name).read_text().startswith("<?xml"), name


def test_the_same_model_in_another_order_gives_the_same_text():
    norm = demo_model()
    shuffled = copy.deepcopy(norm)
    for key in ("zones", "networks", "containers", "hosts"):
        shuffled[key] = dict(reversed(list(shuffled[key].items())))
    assert graph.files(shuffled) == graph.files(norm)
    assert graph.files(norm) == graph.files(copy.deepcopy(norm))


def ids(text):
    """(node ids, edge ids) of a DOT text written by the renderer, the legend left out."""
    nodes, edges = [], []
    for line in text.splitlines():
        found = DOT_LINE.match(line)
        if found and not found.group(4).startswith("legend"):
            (edges if found.group(2) else nodes).append(found.group(4))
    return nodes, edges


@pytest.mark.parametrize("case", ["small", "demo"])
def test_node_and_edge_counts_are_the_models(case):
    norm = graph_cases.small() if case == "small" else demo_model()
    nets, containers = norm["networks"], norm["containers"]
    pairs = [(n, a, b) for n in sorted(nets) if nets[n]["overlay"] != "none"
             for a, b in itertools.combinations(sorted(nets[n]["hosts"]), 2)]
    text = graph.files(norm)["topology.dot"]
    nodes, edges = ids(text)
    assert sorted(i for i in nodes if i.startswith("bridge:")) == sorted(
        "bridge:%s:%s" % (h, n) for n in nets for h in nets[n]["hosts"])
    assert sorted(i for i in nodes if i.startswith("container:")) == sorted("container:%s" % c for c in containers)
    # a tunnel is drawn as its label and the two halves joining it to the bridges
    assert sorted(i for i in nodes if i.startswith("tunnel:")) == sorted("tunnel:%s:%s:%s" % p for p in pairs)
    assert len([i for i in edges if i.startswith("tunnel:")]) == 2 * len(pairs)
    assert sorted(i for i in edges if i.startswith("attach:")) == sorted(
        "attach:%s:%s" % (c, i["ifname"]) for c in containers for i in containers[c]["interfaces"])
    assert len(nodes) == sum(len(n["hosts"]) for n in nets.values()) + len(containers) + len(pairs)
    assert len(edges) == sum(len(c["interfaces"]) for c in containers.values()) + 2 * len(pairs)
    assert re.findall(r'subgraph "cluster_\d+"', text) == ['subgraph "cluster_%d"' % i for i in range(len(norm["hosts"]))]
    # Mermaid: the same nodes and links
    mmd = graph.files(norm)["topology.mmd"]
    assert len(re.findall(r"^    n\d+\[", mmd, flags=re.M)) == len(nodes) - len(pairs)
    assert len(re.findall(r"^  n\d+ -", mmd, flags=re.M)) == len(edges) - len(pairs)
    # zones: one node per zone (and outside), one edge per allowed flow, nat zone and publishing zone
    zones = graph.files(norm)["zones.dot"]
    znodes, zedges = ids(zones)
    assert sorted(znodes) == sorted(["zone:%s" % z for z in norm["zones"]] + ["outside"])
    flows = ["flow:%s:%s" % (z, t) for z in norm["zones"] for t in norm["zones"][z]["allow_to"]]
    assert sorted(i for i in zedges if i.startswith("flow:")) == sorted(flows)


def test_demo_labels_say_what_the_model_says():
    dot = graph.files(demo_model())["topology.dot"]
    assert 'label="dmz: gre key 110\\nmtu 1458"' in dot
    assert 'label="app: vxlan vni 120 udp 8472\\nmtu 1450"' in dot
    assert 'label="web1\\neth1 10.10.0.78/24"' in dot
    assert 'label="app2\\neth1 10.20.0.174/24 dhcp"' in dot
    assert 'label="host2\\nunderlay 198.19.0.12"' in dot
    # zones are colours: every element of one zone has the zone's colour, and two zones differ
    colors = dict((z, set(re.findall(r'id="bridge:host\d:%s".*?fillcolor="(#[0-9a-f]+)"' % z, dot)))
                  for z in ("dmz", "app", "backend"))
    assert all(len(c) == 1 for c in colors.values()) and len(set().union(*colors.values())) == 3
    zones = graph.files(demo_model())["zones.dot"]
    assert '"zone:dmz" -> "zone:app"' in zones and '"zone:app" -> "zone:backend"' in zones
    assert '"zone:backend" -> "zone:' not in zones
    assert '"outside" -> "zone:dmz" [id="publish:dmz", class="link ok", label="tcp 8080 -> web1:80"' in zones


ODD_HOSTS = {
    'h "1" <a>': {"netwire_host": {"index": 1, "underlay_address": "198.19.0.11/24", "underlay_interface": "eth1"}},
    "h\\2 #x|y;end": {"netwire_host": {"index": 2, "underlay_address": "198.19.0.12/24",
                                       "underlay_interface": "eth1"}},
}


def odd_model():
    model = copy.deepcopy(graph_cases.SMALL)
    hosts = sorted(ODD_HOSTS)
    model["netwire_zones"] = {"front": {"allow_to": ["end"], "description": 'the "web" tier\\ <b>&amp; #1 `x`|'},
                              "end": {"description": "line one\nline two"}}
    model["netwire_networks"]["web"].update(zone="front")
    model["netwire_networks"]["db"].update(zone="end", hosts=hosts)
    model["netwire_networks"]["end"] = model["netwire_networks"].pop("db")
    model["netwire_containers"] = {
        "end": {"host": hosts[0], "interfaces": [{"network": "web"}, {"network": "end"}]},
        "a.b-c_d": {"host": hosts[1], "interfaces": [{"network": "web"}]},
    }
    return graph_cases.normalized(model, ODD_HOSTS)


def test_odd_names_are_escaped_in_dot():
    dot = graph.files(odd_model())["topology.dot"]
    assert 'h "1" <a>' not in dot  # a name is never printed raw...
    assert 'id="host:h \\"1\\" <a>"' in dot  # ...but quoted, its quotes escaped
    assert 'label="h\\\\2 #x|y;end\\nunderlay 198.19.0.12"' in dot  # a backslash is doubled
    zones = graph.files(odd_model())["zones.dot"]
    assert 'the \\"web\\" tier\\\\ <b>&amp; #1 `x`|' in zones
    assert '"zone:end" [id="zone:end", class="zone ok", label="end\\n(line one\\nline two)' in zones
    # every line is a statement: no string left open
    for line in dot.splitlines() + zones.splitlines():
        assert len(re.findall(r'(?<!\\)"', line.replace('\\\\', ''))) % 2 == 0, line


def test_odd_names_are_escaped_in_mermaid():
    mmd = graph.files(odd_model())["topology.mmd"]
    assert 'subgraph h0["h #quot;1#quot; #lt;a#gt;<br/>underlay 198.19.0.11"]' in mmd
    assert 'subgraph h1["h\\2 #35;x#124;y;end<br/>underlay 198.19.0.12"]' in mmd
    # a container named "end" is a label, never an id (it would close a subgraph)
    assert re.findall(r"^\s*end\s*$", mmd, flags=re.M) == ["  end"] * 3
    assert '["end<br/>eth1' in mmd
    zones = graph.files(odd_model())["zones.mmd"]
    assert "the #quot;web#quot; tier\\ #lt;b#gt;#amp;amp; #35;1 #96;x#96;#124;" in zones
    for text in (mmd, zones):
        for label in re.findall(r'\["(.*?)"\]|\|"(.*?)"\|', text):
            assert '"' not in "".join(label)
    assert mermaid_text('a"b\nc') == "a#quot;b<br/>c"
    assert dot_quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'


def trunked_model():
    from tests.unit.model_cases import hosts
    from tests.unit.test_model_trunk import trunked

    return graph_cases.normalized(trunked(), hosts())


def test_networks_on_a_trunk_are_drawn_on_its_bridge_and_mesh():
    """A trunk's bridge on each host it spans, each network's bridge on it by its VLAN, and one mesh between the
    trunk's bridges; the networks on the trunk have no tunnels of their own (issue 19)."""
    norm = trunked_model()
    text = graph.files(norm)["topology.dot"]
    nodes, edges = ids(text)
    assert sorted(i for i in nodes if i.startswith("trunk:")) == ["trunk:h1:core", "trunk:h2:core"]
    assert sorted(i for i in edges if i.startswith("vlan:")) == ["vlan:h1:back", "vlan:h1:side", "vlan:h2:back"]
    assert sorted(i for i in nodes if i.startswith("tunnel:")) == ["tunnel:front:h1:h2", "tunnel:trunk:core:h1:h2"]
    assert '"trunk:h1:core" -> "bridge:h1:side" [id="vlan:h1:side", class="attach ok", label="vlan 30"' in text
    assert 'label="nwk-core\\ntrunk core\\ngeneve vni 144 udp 6081"' in text
    assert '"tunnel:trunk:core:h1:h2" [id="tunnel:trunk:core:h1:h2", class="tunnel ok", ' \
        'label="trunk core: geneve vni 144 udp 6081"' in text
    hosts = norm["hosts"]
    assert 'tooltip="trunk core geneve vni 144 udp 6081: h1 %s -> %s; h2 %s -> %s"' % (
        ovs_tunnel_port_name("geneve", "trunk:core", hosts["h2"]["underlay_address"]), hosts["h2"]["underlay_address"],
        ovs_tunnel_port_name("geneve", "trunk:core", hosts["h1"]["underlay_address"]),
        hosts["h1"]["underlay_address"]) in text
    # the trunk's bridges and its mesh count in the model's size (a large model's pictures are chosen by it)
    assert size(norm) == (len([i for i in nodes if i.split(":")[0] in ("bridge", "container", "trunk")]),
                          len([i for i in nodes if i.startswith("tunnel:")]))


@pytest.mark.skipif(DOT is None, reason="Graphviz (dot) is not installed")
@pytest.mark.parametrize("case", ["odd", "demo", "trunk"])
def test_graphviz_reads_every_picture(case, tmp_path):
    norm = {"odd": odd_model, "demo": demo_model, "trunk": trunked_model}[case]()
    for name, text in graph.files(norm, graph_cases.reports(norm)).items():
        if name.endswith(".dot"):
            proc = subprocess.run([DOT, "-Tsvg"], input=text, capture_output=True, text=True, timeout=60, check=False)
            assert proc.returncode == 0 and "Warning" not in proc.stderr and "Error" not in proc.stderr, (
                name, proc.stderr)
            if case == "odd" and "topology" in name:
                assert "h &quot;1&quot; &lt;a&gt;" in proc.stdout or "h &#34;1&#34; &lt;a&gt;" in proc.stdout


def test_a_large_model_gets_an_overview_and_one_picture_per_network():
    norm = graph_cases.large()
    assert len(norm["hosts"]) == 10 and len(norm["containers"]) == 50
    assert graph.is_large(norm) and not graph.is_large(demo_model())
    files = graph.files(norm)
    assert sorted(files) == sorted(["topology.dot", "topology.mmd", "zones.dot", "zones.mmd"]
                                   + ["network-%s.%s" % (n, e) for n in norm["networks"] for e in ("dot", "mmd")])
    nodes, edges = ids(files["topology.dot"])
    assert sorted(nodes) == sorted(["host:%s" % h for h in norm["hosts"]] + ["network:%s" % n for n in norm["networks"]])
    assert len(edges) == sum(len(n["hosts"]) for n in norm["networks"].values())
    for n, net in norm["networks"].items():
        nodes, edges = ids(files["network-%s.dot" % n])
        bridges = [i for i in nodes if i.startswith("bridge:")]
        assert sorted(bridges) == sorted("bridge:%s:%s" % (h, n) for h in net["hosts"])
        shown = [i for i in nodes if i.startswith("container:")]
        assert sorted(shown) == sorted("container:%s" % c for c, body in norm["containers"].items()
                                       if any(i["network"] == n for i in body["interfaces"]))
        assert len(nodes) <= LARGE_NODES, n
        pairs = len(net["hosts"]) * (len(net["hosts"]) - 1) // 2
        if pairs > STAR_TUNNELS:
            # a mesh of many hosts is drawn as a star: one spoke per host
            assert "overlay:%s" % n in nodes and not [i for i in nodes if i.startswith("tunnel:")]
            assert len([e for e in edges if e.startswith("spoke:")]) == len(net["hosts"])
        else:
            assert len([i for i in nodes if i.startswith("tunnel:")]) == pairs
        # many hosts: one under the other
        assert ('rankdir="LR"' in files["network-%s.dot" % n]) is (len(net["hosts"]) > 4)


def test_the_model_helpers_keep_their_contract():
    # the graph draws the normalized model netwire_validate returns: the keys it reads stay there
    norm = demo_model()
    assert set(norm) >= {"zones", "networks", "containers", "hosts"}
    assert set(m.plans_of(norm)) == set(norm["hosts"])
