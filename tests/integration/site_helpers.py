"""What the lab tests that build the example model (examples/model) share: a copy of the model
whose containers are this lab instance's, and probes run inside those containers.

Docker container names are global to the machine: each lab instance (and test file) refers to
its own containers (the model's ``ref``), so that labs and files can run side by side.
"""

import json
import re
import shutil
import time

import yaml

from tests.lab.core import REPO, ensure_container, sh

EXAMPLE = REPO / "examples" / "model"
CONTAINERS = ("web1", "web2", "app1", "app2", "db1")
ADDRESS = re.compile(r"inet (\d+\.\d+\.\d+\.\d+)/(\d+)")


def ok(run, what):
    assert run.rc == 0, "%s failed: %r" % (what, run)
    return run


class Containers(dict):
    """The example model's containers: model name -> Docker container name, plus probes in them.

    ``tcp_port``: the port :meth:`tcp` listens on unless told otherwise.
    """

    def __init__(self, tcp_port=7002):
        dict.__init__(self)
        self.tcp_port = tcp_port

    def name(self, instance, prefix=""):
        """Fill the mapping for lab ``instance`` (``lab<n>-<prefix><name>``); return it."""
        for name in CONTAINERS:
            self[name] = "lab%d-%s%s" % (instance, prefix, name)
        return self

    def ensure(self, instance):
        for name in CONTAINERS:
            ensure_container(self[name], instance)

    def remove(self):
        for name in CONTAINERS:
            sh(["docker", "rm", "-f", self[name]], check=False)

    def address(self, name, ifname="eth1"):
        """The IPv4 address of a container's interface, or None."""
        out = sh(["docker", "exec", self[name], "ip", "-o", "-4", "addr", "show", "dev", ifname], check=False).stdout
        found = ADDRESS.search(out)
        return found.group(1) if found else None

    def ping(self, src, dst_ip):
        return sh(["docker", "exec", self[src], "ping", "-c", "2", "-i", "0.2", "-W", "2", "-q", dst_ip],
                  check=False, timeout=15).returncode == 0

    def tcp(self, src, dst, dst_ip, port=None):
        """A one-shot bounded TCP exchange: True when the client got the server's greeting."""
        port = self.tcp_port if port is None else port
        sh(["docker", "exec", "-d", self[dst], "timeout", "8", "nc", "-l", "-p", str(port), "-e", "echo", "hi-" + dst])
        try:
            for _attempt in range(10):
                out = sh(["docker", "exec", self[src], "timeout", "3", "nc", "-w", "2", dst_ip, str(port)],
                         check=False, timeout=10, input="")
                if ("hi-" + dst) in out.stdout:
                    return True
                if "refused" not in out.stderr + out.stdout:
                    return False
                # refused: `docker exec -d` returns before the listener is up (under load, ten instant
                # tries were spent before it was)
                time.sleep(0.5)
            return False
        finally:
            sh(["docker", "exec", self[dst], "pkill", "-f", "nc -l -p %d" % port], check=False)

    def published_reply(self, lab, name="web1", host="host1", port=8080, container_port=80):
        """The outside host asks ``host``'s published ``port`` (web1's port 80 in the model); the last answer.

        The container answers ``hello-<name>``; up to 10 tries.
        """
        sh(["docker", "exec", "-d", self[name], "timeout", "10", "nc", "-l", "-p", str(container_port), "-e", "echo",
            "hello-" + name])
        try:
            for _attempt in range(10):
                out = lab.outside.run(["timeout", "3", "busybox", "nc", "-w", "2", lab.host(host).underlay_ip,
                                       str(port)], check=False, input="")
                if "hello-" + name in out.stdout:
                    break
                # a refusal comes back at once: give `docker exec -d` time to start the listener (it had
                # not, under load, before ten instant tries were spent)
                time.sleep(0.5)
            return out
        finally:
            sh(["docker", "exec", self[name], "pkill", "-f", "nc -l -p %d" % container_port], check=False)


def copy_example(dest, containers, instance, prefix=""):
    """Copy examples/model to ``dest``, its containers' refs set to this lab's (created if missing).

    Returns the model's variables (``group_vars/all.yml``) as written.
    """
    shutil.copytree(str(EXAMPLE), str(dest))
    all_vars = dest / "group_vars" / "all.yml"
    model = yaml.safe_load(all_vars.read_text())
    containers.name(instance, prefix)
    for name in CONTAINERS:
        model["netwire_containers"][name]["ref"] = containers[name]
    containers.ensure(instance)
    all_vars.write_text(yaml.safe_dump(model, sort_keys=False))
    return model


def owned_state(host):
    """Everything netwire.fabric could have left on a lab host."""
    links = [l["ifname"] for l in host.json(["ip", "-j", "link"])
             if (l.get("ifalias") or "").startswith("netwire:")]
    bridges = host.run(["ovs-vsctl", "list-br"]).stdout.split()
    tables = [t["table"]["name"] for t in json.loads(host.run(["nft", "-j", "list", "tables"]).stdout)["nftables"]
              if "table" in t and t["table"]["name"].startswith("netwire")]
    return {"links": links, "ovs_bridges": bridges, "nft_tables": tables}
