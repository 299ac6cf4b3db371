"""A lab host with Docker's own firewall: the chains dockerd (--iptables=true) creates.

dockerd cannot run a second time inside a lab host (it would fight the machine's
dockerd over /var/lib/docker and its socket), so this reproduces, with the same
iptables-nft commands in the same order, the iptables state a stock Docker 24
Engine sets up at start for its default bridge docker0 (``iptables-save`` of a
fresh Debian 12 host with docker.io): the FORWARD policy DROP, DOCKER-USER
(jumped to first, holding only RETURN), the two isolation stages, the DOCKER
chains and docker0's accept rules, and the nat chains. The docker0 interface
itself is not created: every rule that names it simply never matches in the lab,
exactly as on a Docker host whose containers are all stopped.
"""

import json

FILTER = [
    ["-P", "FORWARD", "DROP"],
    ["-N", "DOCKER"],
    ["-N", "DOCKER-ISOLATION-STAGE-1"],
    ["-N", "DOCKER-ISOLATION-STAGE-2"],
    ["-N", "DOCKER-USER"],
    ["-A", "FORWARD", "-j", "DOCKER-USER"],
    ["-A", "FORWARD", "-j", "DOCKER-ISOLATION-STAGE-1"],
    ["-A", "FORWARD", "-o", "docker0", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"],
    ["-A", "FORWARD", "-o", "docker0", "-j", "DOCKER"],
    ["-A", "FORWARD", "-i", "docker0", "!", "-o", "docker0", "-j", "ACCEPT"],
    ["-A", "FORWARD", "-i", "docker0", "-o", "docker0", "-j", "ACCEPT"],
    ["-A", "DOCKER-ISOLATION-STAGE-1", "-i", "docker0", "!", "-o", "docker0", "-j", "DOCKER-ISOLATION-STAGE-2"],
    ["-A", "DOCKER-ISOLATION-STAGE-1", "-j", "RETURN"],
    ["-A", "DOCKER-ISOLATION-STAGE-2", "-o", "docker0", "-j", "DROP"],
    ["-A", "DOCKER-ISOLATION-STAGE-2", "-j", "RETURN"],
    ["-A", "DOCKER-USER", "-j", "RETURN"],
]
NAT = [
    ["-N", "DOCKER"],
    ["-A", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "DOCKER"],
    ["-A", "OUTPUT", "!", "-d", "127.0.0.0/8", "-m", "addrtype", "--dst-type", "LOCAL", "-j", "DOCKER"],
    ["-A", "POSTROUTING", "-s", "172.17.0.0/16", "!", "-o", "docker0", "-j", "MASQUERADE"],
    ["-A", "DOCKER", "-i", "docker0", "-j", "RETURN"],
]


def add_docker_chains(host):
    """Docker's filter and nat rules in ``host`` (a lab host), as dockerd adds them."""
    for args in FILTER:
        host.run(["iptables-nft", "-t", "filter"] + args)
    for args in NAT:
        host.run(["iptables-nft", "-t", "nat"] + args)


def remove_docker_chains(host):
    """What a host looks like before Docker (the tables iptables-nft made), whatever is in them."""
    for table in ("filter", "nat"):
        host.run(["nft", "delete", "table", "ip", table], check=False)


def table_json(host, family="ip", table="filter"):
    """The table's objects without handles and counters' values: comparable before/after."""
    items = json.loads(host.run(["nft", "-j", "list", "table", family, table]).stdout)["nftables"]
    out = []
    for item in items:
        if "metainfo" in item:
            continue
        kind, obj = list(item.items())[0]
        obj = dict((k, v) for k, v in obj.items() if k != "handle")
        if "expr" in obj:
            obj["expr"] = [{"counter": None} if "counter" in e else e for e in obj["expr"]]
        out.append({kind: obj})
    return out
