"""Command line: python -m tests.lab {up,down,status} [--hosts N] [--mtu M]."""

from __future__ import annotations

import argparse
import sys

from .core import Lab, LabError, ensure_container, ensure_docker


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.lab", description="The netwire lab of simulated hosts.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="create the lab (cleans up a previous one first)")
    up.add_argument("--hosts", type=int, default=3, help="number of lab hosts (default 3)")
    up.add_argument("--mtu", type=int, default=1500, help="underlay MTU (default 1500)")
    sub.add_parser("down", help="remove everything the lab made")
    sub.add_parser("status", help="print the lab's hosts, or that no lab is up")
    sub.add_parser("prepare", help="start the machine's Docker Engine if needed and build the lab image")
    ctr = sub.add_parser("containers", help="make sure lab containers with these names run (idempotent)")
    ctr.add_argument("names", nargs="+", help="container names")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "up":
            Lab(n_hosts=args.hosts, mtu=args.mtu).up()
        elif args.cmd == "prepare":
            ensure_docker()
        elif args.cmd == "containers":
            lab = Lab.load()
            if lab is None:
                raise LabError("no lab is up: run `make lab-up` first")
            for name in args.names:
                print("lab: container %s %s" % (name, ensure_container(name, lab.instance)))
        elif args.cmd == "down":
            (Lab.load() or Lab()).down()
        else:
            lab = Lab.load()
            if lab is None or not lab.is_up():
                print("no lab is up")
                return 1
            print("lab up: %d hosts, underlay MTU %d, inventory %s" % (len(lab.hosts), lab.mtu, lab.inventory))
            for h in lab.hosts:
                print("  %-8s mgmt %-13s underlay %-13s ssh -i %s/id_ed25519 -o UserKnownHostsFile=%s/known_hosts root@%s"
                      % (h.name, h.mgmt_ip, h.underlay_ip, lab.ssh_dir, lab.ssh_dir, h.mgmt_ip))
            print("  outside  %s (nsenter --net=%s)" % (lab.outside.ip, lab.outside.netns_path))
    except LabError as err:
        print("lab: error: %s" % err, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
