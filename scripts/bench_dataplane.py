"""Benchmark P2 (issue 20): TCP throughput of our kernel VXLAN against the underlay, and of a same-host Linux
bridge against a plain veth pair, interleaved, on lab host1 and host2.

host_network builds, from the model's plan, one Linux-bridge network with a kernel VXLAN overlay over host1 and
host2, and three network namespaces standing for containers (``ref_type: netns``): c1 and c3 on host1, c2 on
host2. A veth pair joins two more namespaces of host1 (va, vb: the bridge's baseline). Then, ROUNDS times, one
bounded iperf3 run (-t SECONDS, the machine's iperf3) for each pair, in turn:
  * underlay: host1 -> host2 on their underlay addresses (eth1);
  * vxlan: c1 (host1) -> c2 (host2), over the overlay;
  * bridge: c1 -> c3, through host1's bridge;
  * veth: va -> vb.
Prints the median and range (Mbit/s), the ratios of the medians, the load, and the lab's offload settings and
MTUs of the devices on the path (ethtool -k). The lab turns transmit checksum offload (and with it TSO) off
on the underlay veths (docs/lab.md: the OVS userspace datapath needs it); --tx-on adds, in each round, the
underlay and vxlan pairs again with it on for host1's and host2's eth1 and their router ports (put back
off right after). Traffic stays between the lab's namespaces. Everything is removed at the end. Not a
test: nothing is asserted on throughput.

Run as root from the checkout on a lab of 2 hosts or more that is up (NETWIRE_LAB_INSTANCE, default 3):
    .venv/bin/python scripts/bench_dataplane.py [--rounds 3] [--seconds 5] [--tx-on] [--json FILE]
"""

import argparse
import ipaddress
import json
import os
import statistics
import sys
import time

os.environ.setdefault("NETWIRE_LAB_INSTANCE", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bench_lib  # noqa: E402  (this folder)
from tests.lab.core import Lab  # noqa: E402
from tests.lab.modrun import ensure_collection_link  # noqa: E402

sys.path.insert(0, str(ensure_collection_link()))
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as _model  # noqa: E402

SUBNET = ipaddress.ip_network("10.63.0.0/24")  # in the lab's container range; only lab namespaces hold it
VETH = ("10.63.1.1", "10.63.1.2")  # the baseline pair's addresses (/30), inside host1 only
PORT = 5201
PAIRS = ("underlay", "vxlan", "bridge", "veth")
TX_PAIRS = ("underlay, tx on", "vxlan, tx on")
FEATURES = ("tx-checksumming", "tx-tcp-segmentation", "tx-udp_tnl-segmentation", "generic-segmentation-offload",
            "generic-receive-offload")


def names(instance):
    return dict((c, "nwp%d-%s" % (instance, c)) for c in ("c1", "c2", "c3", "va", "vb"))


def model(ns):
    containers = {}
    for i, (c, host) in enumerate((("c1", "host1"), ("c2", "host2"), ("c3", "host1"))):
        containers[c] = {"host": host, "ref": ns[c], "ref_type": "netns",
                         "interfaces": [{"network": "vx", "address": str(SUBNET.network_address + 31 + i)}]}
    return {"netwire_zones": {"z": {}},
            "netwire_networks": {"vx": {"subnet": str(SUBNET), "zone": "z", "backend": "linux", "overlay": "vxlan",
                                        "key": 63, "port": 8472, "hosts": ["host1", "host2"]}},
            "netwire_containers": containers}


def host_vars(lab):
    return dict((h.name, {"netwire_host": {"index": h.index, "underlay_address": h.underlay_ip + "/24",
                                           "underlay_interface": "eth1", "ovs_datapath": "netdev"}})
                for h in lab.hosts)


def in_ns(ns, argv):
    return ["ip", "netns", "exec", ns] + argv if ns else argv


def iperf(server_host, server_ns, client_host, client_ns, address, seconds):
    """One bounded iperf3 run; Mbit/s received."""
    server = server_host.popen(in_ns(server_ns, ["timeout", str(seconds + 20), "iperf3", "-s", "-1", "-B", address,
                                                 "-p", str(PORT)]),
                               stdout=open(os.devnull, "w"), stderr=open(os.devnull, "w"))
    try:
        time.sleep(0.5)
        out = client_host.run(in_ns(client_ns, ["timeout", str(seconds + 15), "iperf3", "-c", address, "-p", str(PORT),
                                                "-t", str(seconds), "-J"]), timeout=seconds + 30, check=False)
        try:
            return json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"] / 1e6
        except (ValueError, KeyError):
            sys.exit("iperf3 to %s failed: %s %s" % (address, out.stdout[-1500:], out.stderr[-500:]))
    finally:
        server.wait(timeout=seconds + 30)


def module(host, params):
    res = host.module("host_network", params, timeout=600)
    if res.get("failed"):
        sys.exit("host_network on %s failed: %s" % (host.name, res.get("msg")))
    return res


def offloads(host, ns, device):
    """The device's MTU and the offload features that matter for TCP throughput, as ethtool -k reports them."""
    out = host.run(in_ns(ns, ["ethtool", "-k", device])).stdout
    feats = dict((line.split(":")[0].strip(), line.split(":")[1].split()[0]) for line in out.splitlines()
                 if ":" in line and line.split(":")[1].strip())
    link = json.loads(host.run(in_ns(ns, ["ip", "-j", "-d", "link", "show", "dev", device])).stdout)[0]
    kind = (link.get("linkinfo") or {}).get("info_kind", "")
    return {"device": device, "kind": kind, "mtu": link["mtu"],
            "features": dict((f, feats.get(f, "?")) for f in FEATURES)}


def links(host, ns=None, kind=None):
    out = json.loads(host.run(in_ns(ns, ["ip", "-j", "-d", "link"])).stdout)
    return [link["ifname"] for link in out if link["ifname"] != "lo" and
            (kind is None or (link.get("linkinfo") or {}).get("info_kind") == kind)]


def path_offloads(h1, ns):
    """The devices on the measured paths, on host1."""
    found = [dict(offloads(h1, None, "eth1"), where="host1")]
    for kind in ("vxlan", "bridge"):
        found += [dict(offloads(h1, None, dev), where="host1") for dev in links(h1, kind=kind) if dev.startswith("nw")]
    found += [dict(offloads(h1, ns["c1"], dev), where="c1") for dev in links(h1, ns["c1"])]
    found += [dict(offloads(h1, ns["va"], dev), where="va") for dev in links(h1, ns["va"])]
    ovs_owner = h1.run(["ovs-vsctl", "port-to-br", "eth1"], check=False).stdout.strip()
    return {"devices": found, "eth1_in_ovs_bridge": ovs_owner or None}


def underlay_tx(lab, hosts, state):
    """Transmit checksum offload on (or back off on) the hosts' eth1 and their ports on the lab's router."""
    for host in hosts:
        host.run(["ethtool", "-K", "eth1", "tx", state])
        lab.router.run(["ethtool", "-K", "u-%s" % host.name, "tx", state])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--tx-on", action="store_true", help="also measure underlay and vxlan with eth1's tx offload on")
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    lab = Lab.load()
    if lab is None or not lab.is_up() or len(lab.hosts) < 2:
        sys.exit("no lab of 2 hosts or more is up for instance %s" % os.environ["NETWIRE_LAB_INSTANCE"])
    h1, h2 = lab.host("host1"), lab.host("host2")
    ns = names(lab.instance)
    plans = _model.plan(model(ns), host_vars(lab))
    pairs = PAIRS + (TX_PAIRS if args.tx_on else ())
    results, loads = dict((p, []) for p in pairs), []
    try:
        for host, spaces in ((h1, ("c1", "c3", "va", "vb")), (h2, ("c2",))):
            host.run(" && ".join("ip netns add %s" % ns[c] for c in spaces))
        h1.run(["ip", "link", "add", "va", "netns", ns["va"], "type", "veth", "peer", "name", "vb", "netns", ns["vb"]])
        for c, address in zip(("va", "vb"), VETH):
            h1.run(in_ns(ns[c], ["sh", "-c", "ip addr add %s/30 dev %s && ip link set %s up && ip link set lo up"
                                 % (address, c, c)]))
        for host in (h1, h2):
            module(host, {"plan": plans[host.name], "sections": ["fabric"]})
        for host in (h1, h2):
            module(host, {"plan": plans[host.name], "sections": ["containers"]})
        addr = dict((c, str(SUBNET.network_address + 31 + i)) for i, c in enumerate(("c1", "c2", "c3")))
        runs = {"underlay": (h2, None, h1, None, h2.underlay_ip),
                "vxlan": (h2, ns["c2"], h1, ns["c1"], addr["c2"]),
                "bridge": (h1, ns["c3"], h1, ns["c1"], addr["c3"]),
                "veth": (h1, ns["vb"], h1, ns["va"], VETH[1])}
        settings = path_offloads(h1, ns)
        for rnd in range(args.rounds):
            loads.append(bench_lib.load())
            order = PAIRS if rnd % 2 == 0 else PAIRS[::-1]
            for pair in order:
                results[pair].append(iperf(*runs[pair], seconds=args.seconds))
            if args.tx_on:
                underlay_tx(lab, (h1, h2), "on")
                try:
                    for pair in TX_PAIRS:
                        results[pair].append(iperf(*runs[pair.split(",", maxsplit=1)[0]], seconds=args.seconds))
                finally:
                    underlay_tx(lab, (h1, h2), "off")
            measured = ", ".join("%s %.0f Mbit/s" % (p, results[p][-1]) for p in pairs)
            print("P2 round %d: %s, load %s" % (rnd + 1, measured, loads[-1]), file=sys.stderr, flush=True)
    finally:
        for host in (h1, h2):
            host.module("host_network", {"state": "absent"}, timeout=600)
        for host, spaces in ((h1, ("c1", "c3", "va", "vb")), (h2, ("c2",))):
            host.run("; ".join("ip netns del %s 2>/dev/null" % ns[c] for c in spaces) + "; true")
    med = dict((p, statistics.median(v)) for p, v in results.items())
    data = {"rounds": args.rounds, "seconds": args.seconds, "load": bench_lib.load_range(loads), "mbits": results,
            "ratio_vxlan_underlay": med["vxlan"] / med["underlay"], "ratio_bridge_veth": med["bridge"] / med["veth"],
            "settings": settings}
    if args.tx_on:
        data["ratio_vxlan_underlay_tx_on"] = med[TX_PAIRS[1]] / med[TX_PAIRS[0]]
    bench_lib.write_json(args.json, data)
    print(table(data))


def table(data):
    lines = ["| path | Mbit/s, median (min-max) | ratio |", "|---|---|---|"]
    ratio = {"vxlan": "%.2f of the underlay" % data["ratio_vxlan_underlay"],
             "bridge": "%.2f of the veth pair" % data["ratio_bridge_veth"]}
    if "ratio_vxlan_underlay_tx_on" in data:
        ratio[TX_PAIRS[1]] = "%.2f of the underlay (tx on)" % data["ratio_vxlan_underlay_tx_on"]
    for p in data["mbits"]:
        lines.append("| %s | %s | %s |" % (p, bench_lib.spread(data["mbits"][p], "%.0f"), ratio.get(p, "")))
    lines += ["", "| device (namespace on host1) | kind | MTU | %s |" % " | ".join(FEATURES),
              "|---|---|---|%s" % ("---|" * len(FEATURES))]
    for d in data["settings"]["devices"]:
        lines.append("| %s (%s) | %s | %d | %s |" % (d["device"], d["where"], d["kind"] or "-", d["mtu"],
                                                     " | ".join(d["features"][f] for f in FEATURES)))
    lines.append("")
    lines.append("eth1 in an OVS bridge: %s" % (data["settings"]["eth1_in_ovs_bridge"] or "no"))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
