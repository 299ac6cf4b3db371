"""An OVS tunnel mesh over three hosts does not loop.

With plain MAC-learning switching, a broadcast coming in over one tunnel of a
full mesh goes out over the others and circles between three hosts forever.
Tunnel ports are protected (split horizon), so the ARP broadcasts of the pings
below stay a handful of packets on every tunnel.
"""

import json

import pytest
import yaml

from tests.lab.core import REPO, ensure_container, sh

pytestmark = pytest.mark.lab

EXAMPLE = REPO / "examples" / "model"
MAX_PACKETS_PER_TUNNEL = 200  # 6 pings x 2 packets plus ARP; a loop makes millions


@pytest.fixture(scope="module")
def mesh(lab, tmp_path_factory):
    refs = dict(("c%d" % i, "lab%d-mesh%d" % (lab.instance, i)) for i in (1, 2, 3))
    model = {
        "netwire_zones": {"z": {}},
        "netwire_networks": {"mesh": {"subnet": "10.70.0.0/24", "zone": "z", "backend": "ovs", "overlay": "vxlan",
                                      "key": 70, "hosts": ["host1", "host2", "host3"]}},
        "netwire_containers": dict(("c%d" % i, {"host": "host%d" % i, "ref": refs["c%d" % i],
                                                "interfaces": [{"network": "mesh"}]}) for i in (1, 2, 3)),
    }
    extra = tmp_path_factory.mktemp("mesh") / "mesh.yml"
    extra.write_text(yaml.safe_dump(model))
    for ref in refs.values():
        ensure_container(ref, lab.instance)
    run = lab.playbook("playbooks/site.yml", [EXAMPLE], extra_vars="@%s" % extra)
    yield run, refs
    lab.playbook("playbooks/down.yml", [EXAMPLE])
    for ref in refs.values():
        sh(["docker", "rm", "-f", ref], check=False)


def address(ref):
    out = sh(["docker", "exec", ref, "ip", "-o", "-4", "addr", "show", "dev", "eth1"]).stdout.split()
    return out[3].split("/")[0]


def tunnel_stats(host):
    rows = json.loads(host.run(["ovs-vsctl", "-f", "json", "--columns=name,statistics,type", "list",
                                "Interface"]).stdout)
    out = {}
    for name, stats, itype in rows["data"]:
        if itype == "vxlan":
            stats = dict(stats[1])
            out[name] = stats.get("rx_packets", 0) + stats.get("tx_packets", 0)
    return out


def protected_ports(host):
    rows = json.loads(host.run(["ovs-vsctl", "-f", "json", "--columns=name,protected", "list", "Port"]).stdout)
    return dict((name, prot) for name, prot in rows["data"])


def test_full_mesh_over_three_hosts_carries_traffic_without_looping(lab, mesh):
    run, refs = mesh
    assert run.rc == 0, run
    assert "loops flooded frames" not in run.stdout
    for h in lab.hosts:
        tunnels = tunnel_stats(h)
        assert len(tunnels) == 2, "%s: a full mesh over three hosts has two tunnels per host" % h.name
        ports = protected_ports(h)
        assert all(ports[t] is True for t in tunnels), (h.name, ports)
    for src in refs.values():
        for dst in refs.values():
            if src != dst:
                ok = sh(["docker", "exec", src, "ping", "-c", "2", "-i", "0.2", "-W", "2", "-q", address(dst)],
                        check=False, timeout=15).returncode == 0
                assert ok, "%s cannot reach %s over the mesh" % (src, dst)
    for h in lab.hosts:
        for name, packets in tunnel_stats(h).items():
            assert packets < MAX_PACKETS_PER_TUNNEL, "%s %s carried %d packets: a forwarding loop" % (
                h.name, name, packets)
