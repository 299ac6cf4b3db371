"""scripts/bench.py (make bench): its knobs and how it reads the benchmark scripts' tables. No timing here."""

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(SCRIPTS))
    try:
        spec = importlib.util.spec_from_file_location("netwire_bench_harness", str(SCRIPTS / "bench.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(SCRIPTS))


ATTACH_TABLE = """N=10 done: ...
| attachments | load | ip loop (s) | first build (s) | per attachment (ms) | vs ip loop | no-op (s) | no-op CPU (s) | check mode (s) | peak RSS (MB) |
|---|---|---|---|---|---|---|---|---|---|
| 100 | 3.5 | 2.0 | 2.2 | 22 | 1.10x | 0.60 | 0.40 | 0.50 | 43 |
| 1000 | 4.0 | 60.0 | 30.0 | 30 | 0.50x | 2.40 | 1.50 | 2.50 | 63 |
"""


def test_sizes_default_and_override(bench):
    sizes = bench.parse_sizes("P1=10,100 p3=3x5")
    assert sizes == {"P1": ["10", "100"], "P3": ["3x5"], "P4": ["10", "100", "300", "1000"]}
    assert bench.hosts_needed(["P1", "P2", "P3"], sizes) == 3
    assert bench.hosts_needed(["P1", "P2", "P3"], bench.parse_sizes("")) == 10
    assert bench.hosts_needed(["P1", "P4"], sizes) == 1
    with pytest.raises(SystemExit):
        bench.parse_sizes("P2=10")


def test_attach_tables_are_read_by_header_and_aggregated(bench):
    runs = [bench.markdown_rows(ATTACH_TABLE), bench.markdown_rows(ATTACH_TABLE.replace("| 30 | 0.50x", "| 40 | 0.70x"))]
    by_n = bench.p4_aggregate(runs)
    assert sorted(by_n) == [100, 1000]
    assert by_n[1000]["per attachment (ms)"] == [30.0, 40.0]
    assert by_n[1000]["vs ip loop"] == [0.5, 0.7]
    table = bench.p4_table(by_n)
    assert "| 1000 | 2 | 4.0-4.0 |" in table
    assert "35 (30-40)" in table


def test_verdicts_answer_the_issue(bench):
    by_n = bench.p4_aggregate([bench.markdown_rows(ATTACH_TABLE)])
    p1_row = {"n": 100, "rounds": 1, "ratio_first_task": 30.0, "ratio_noop_task": 20.0, "ratio_first_wall": 12.0,
              "ratio_noop_wall": 10.0, "bridge_noop": [0.5], "anchor_drift_changed": 0, "ours_drift_changed": 1}
    p3_row = {"hosts": 10, "containers": 20, "noop": [14.0], "ping": [2.0], "ratio": 7.0}
    lines = bench.verdicts({"P1": {"rows": [p1_row]}, "P3": {"rows": [p3_row]}, "P4": by_n,
                            "P2": {"ratio_vxlan_underlay": 0.9, "ratio_bridge_veth": 0.8}})
    text = "\n".join(lines)
    assert "first run 30.0x and no-op 20.0x (wanted >= 25x: no)" in text
    assert "at 10x20: 14.0 s" in text and "within 5x of ping: yes" in text
    assert "kernel VXLAN / underlay 0.90 (wanted >= 0.85: yes)" in text
    assert "1000 / 100: 1.36, wanted within 1.5x: yes" in text
    assert ("P4 at 1000 attachments: first build / ip loop 0.50 (wanted <= 1: yes), no-op 2.40 s (wanted <= 2: no), "
            "check mode 2.50 s (wanted <= 2: no), no-op CPU 1.50 s, peak RSS 63 MB") in lines


def test_verdicts_say_what_they_cannot_answer(bench):
    """A column bench_attach.py no longer writes is named, not silently left out; a run short of 1000 says so;
    ovs_bridge's no-op is flat within 1.5x or not."""
    table = ATTACH_TABLE.replace("check mode (s)", "check (s)").replace("| 1000 | 4.0 |", "| 300 | 4.0 |")
    text = "\n".join(bench.verdicts({"P4": bench.p4_aggregate([bench.markdown_rows(table)])}))
    assert "no column 'check mode (s)'" in text
    assert "P4 at 300 attachments: first build / ip loop 0.50 (wanted <= 1 at 1000, not measured)" in text
    rows = [{"n": n, "rounds": 1, "ratio_first_task": 30.0, "ratio_noop_task": 30.0, "ratio_first_wall": 12.0,
             "ratio_noop_wall": 10.0, "bridge_noop": [b], "anchor_drift_changed": 0, "ours_drift_changed": 1}
            for n, b in ((10, 0.30), (500, 0.44))]
    assert "(largest / smallest median 1.47; wanted flat, taken as within 1.5x as P4's first build: yes)" in \
        "\n".join(bench.verdicts({"P1": {"rows": rows}}))
    rows[1]["bridge_noop"] = [0.46]
    assert "taken as within 1.5x as P4's first build: no)" in "\n".join(bench.verdicts({"P1": {"rows": rows}}))
