"""Order of the integration files: the longest first.

Under ``pytest -n N --dist loadfile --no-loadscope-reorder`` (scripts/test.sh)
whole files go to the workers in collection order; alphabetical order put the
longest files (each builds and audits a deployment of its own) last, so one
worker ran them alone at the end. Without ``--no-loadscope-reorder`` xdist
reorders the files by their number of tests instead, and this order is lost.
Files not listed keep their order, after these. The times are from a CI run's
junit report (worker-seconds, relative).
"""

LONGEST_FIRST = (
    "test_spec_suite.py",     # 29%
    "test_services_example.py",  # new (issue 17): several site.yml runs over 3 members and an LB
    "test_encrypted.py",      # new (issue 16): the encrypted example, counters, MTU, wrong key
    "test_evpn.py",           # new (issue 15): about 10 min of site.yml runs, audits and BGP waits
    "test_preflight.py",      # 12%
    "test_site.py",           # 9%
    "test_host_safety.py",    # 8%
    "test_host_python.py",    # 8%
    "test_user_path.py",      # 8%
    "test_firewall.py",       # 5%
    "test_host_firewalls.py",  # 5%
    "test_container_attach.py",  # 4%
    "test_graph.py",          # ~3% (new: one deployment, graph.yml twice)
    "test_vlan.py",           # 4%
    "test_hostile.py",        # 2%
    "test_ovs_tunnel.py",     # 2%
    "test_container_attach_direct.py",  # new (issue 19)
    "test_haproxy_lb.py",     # new (issue 17)
    "test_service_registration.py",  # new (issue 17)
)


def pytest_collection_modifyitems(items):
    rank = dict((name, i) for i, name in enumerate(LONGEST_FIRST))
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
