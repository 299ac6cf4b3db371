"""playbooks/graph.yml on the deployed example model: the pictures name what was built, and the
observed view marks exactly what was broken by hand.

One deployment (site.yml once) and three graph.yml runs. The expectations are written out by hand
from examples/model (dmz: OVS GRE host1-host2; app: kernel VXLAN over host1-host3; backend: OVS
VXLAN host2-host3), and the tunnel names are read from the hosts, not computed by the collection.
"""

import html
import os
import re
import shutil

import pytest

from tests.integration.site_helpers import CONTAINERS, Containers, copy_example, ok

pytestmark = pytest.mark.lab

DOCKER = Containers()
TUNNELS = {"tunnel:dmz:host1:host2", "tunnel:app:host1:host2", "tunnel:app:host1:host3", "tunnel:app:host2:host3",
           "tunnel:backend:host2:host3"}
ELEMENT = re.compile(r'<g id="([^"]+)" class="([^"]+)"')


@pytest.fixture(scope="module")
def deployed(lab, tmp_path_factory):
    model = tmp_path_factory.mktemp("graph-model") / "model"
    copy_example(model, DOCKER, lab.instance, prefix="graph-")
    ok(lab.playbook("playbooks/site.yml", [model]), "site.yml")
    yield model
    lab.playbook("playbooks/down.yml", [model])
    DOCKER.remove()


def draw(lab, model, out, observed=True):
    run = lab.playbook("playbooks/graph.yml", [model], extra_vars={"graph_dir": str(out), "observed": observed})
    ok(run, "graph.yml")
    assert run.changed()["host1"] > 0, run
    return out


def read(svg_file):
    """An SVG's text with Graphviz's character references resolved (it writes '-' as '&#45;')."""
    return html.unescape(svg_file.read_text())


def elements(svg):
    """{element id: set of classes} of an SVG written by Graphviz."""
    return dict((eid, set(cls.split())) for eid, cls in ELEMENT.findall(svg))


def marked(svg, status):
    """Ids of the model's elements (tunnel labels, not their two halves) drawn with ``status``."""
    return set(eid for eid, cls in elements(svg).items() if status in cls and not re.search(r":[ab]$", eid))


def tunnel_names(host):
    """The tunnel ports and kernel tunnel devices of ours on a lab host, as the host lists them."""
    names = [l["ifname"] for l in host.json(["ip", "-d", "-j", "link"])
             if (l.get("ifalias") or "").startswith("netwire:")
             and l.get("linkinfo", {}).get("info_kind") in ("vxlan", "gretap", "geneve")]
    rows = host.run(["ovs-vsctl", "-f", "csv", "--no-headings", "--columns=name,type", "list", "Interface"]).stdout
    names += [name for name, _sep, kind in (r.partition(",") for r in rows.split()) if kind in ("gre", "vxlan", "geneve")]
    return names


def test_the_pictures_name_every_container_and_every_tunnel(deployed, lab, tmp_path):
    out = draw(lab, deployed, tmp_path / "graph")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["%s.%s" % (name, ext) for name in ("topology", "zones", "observed-topology")
         for ext in ("dot", "mmd", "svg", "png")] + ["observed-summary.txt"])
    for picture in ("topology.svg", "observed-topology.svg"):
        svg = read(out / picture)
        ids = elements(svg)
        for name in CONTAINERS:
            assert ">%s</text>" % name in svg, "%s does not name container %s" % (picture, name)
            assert "container:%s" % name in ids
        assert TUNNELS <= set(ids), picture
        assert set(i for i in ids if i.startswith("tunnel:") and not re.search(r":[ab]$", i)) == TUNNELS
        for host in lab.hosts:
            for tunnel in tunnel_names(host):
                assert tunnel in svg, "%s does not name %s's tunnel %s" % (picture, host.name, tunnel)
    observed = read(out / "observed-topology.svg")
    assert marked(observed, "missing") == set() and marked(observed, "extra") == set()
    assert (out / "observed-summary.txt").read_text() == "missing 0, extra 0, not reported 0\n"
    assert (out / "observed-topology.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_drift_marks_exactly_what_was_broken(deployed, lab, tmp_path):
    host1, host2, host3 = lab.host("host1"), lab.host("host2"), lab.host("host3")
    # one OVS tunnel port (dmz, GRE, host1's end towards host2) and one kernel VXLAN flood entry
    # (app, host2's entry towards host3) deleted by hand
    gre = [p for p in host1.run(["ovs-vsctl", "list-ports", "nw-dmz"]).stdout.split() if p.startswith("gre-")]
    assert len(gre) == 1, gre
    host1.run(["ovs-vsctl", "del-port", "nw-dmz", gre[0]])
    host2.run(["bridge", "fdb", "del", "00:00:00:00:00:00", "dev", "nwx-app", "dst", host3.underlay_ip])
    # bridges that are not ours (no netwire mark), one named like ours; and one of ours the model lacks
    host3.run(["ip", "link", "add", "nw-foreign", "type", "bridge"])
    host3.run(["ovs-vsctl", "add-br", "br-foreign", "--", "set", "Bridge", "br-foreign", "datapath_type=netdev"])
    host3.run(["ip", "link", "add", "nw-stray", "type", "bridge"])
    host3.run(["ip", "link", "set", "nw-stray", "alias", "netwire:bridge"])
    try:
        out = draw(lab, deployed, tmp_path / "graph")
        svg = read(out / "observed-topology.svg")
        assert marked(svg, "missing") == {"tunnel:dmz:host1:host2", "tunnel:app:host2:host3"}
        assert "no %s on host1" % gre[0] in svg
        assert marked(svg, "extra") == {"extra:host3:bridge:nw-stray"}
        assert "nw-foreign" not in svg and "br-foreign" not in svg
        dot = (out / "observed-topology.dot").read_text()
        node = [l for l in dot.splitlines() if l.strip().startswith('"tunnel:dmz:host1:host2" [')]
        assert len(node) == 1 and 'color="#dc2626"' in node[0] and 'style="filled,rounded,dashed"' in node[0], node
        # the model's own picture does not change with the hosts
        assert marked(read(out / "topology.svg"), "missing") == set()
        assert (out / "observed-summary.txt").read_text() == "missing 2, extra 1, not reported 0\n"
        if os.environ.get("NETWIRE_GRAPH_DOCS"):
            # docs/graph.md's picture of drift is this one
            shutil.copy(str(out / "observed-topology.svg"),
                        os.path.join(os.environ["NETWIRE_GRAPH_DOCS"], "demo-observed-drift.svg"))
    finally:
        host3.run(["ip", "link", "del", "nw-foreign"], check=False)
        host3.run(["ovs-vsctl", "--if-exists", "del-br", "br-foreign"], check=False)
        host3.run(["ip", "link", "del", "nw-stray"], check=False)
