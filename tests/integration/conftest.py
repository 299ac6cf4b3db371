"""Order of the integration files: the longest first.

Under ``pytest -n N --dist loadfile`` (scripts/test.sh) whole files go to the
workers in collection order; alphabetical order put the longest files (each
builds and audits a deployment of its own) last, so one worker ran them alone
at the end. Files not listed keep their order, after these. The times are from
a CI run's junit report (worker-seconds, relative).
"""

LONGEST_FIRST = (
    "test_spec_suite.py",     # 27%
    "test_preflight.py",      # 19%
    "test_host_python.py",    # 11%
    "test_user_path.py",      # 10%
    "test_host_safety.py",    # 9%
    "test_vlan.py",           # 8%
    "test_site.py",           # 4%
    "test_host_firewalls.py",  # 3%
)


def pytest_collection_modifyitems(items):
    rank = dict((name, i) for i, name in enumerate(LONGEST_FIRST))
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
