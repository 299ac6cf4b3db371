"""The firewall manager's decisions with a fake nft client (the lab tests use the real kernel)."""

import copy
import json
from pathlib import Path

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils._firewall import planner as fw

from ansible_collections.netwire.fabric.plugins.module_utils._firewall import ruleset as rs
from ansible_collections.netwire.fabric.plugins.module_utils._errors import BackendError, InvalidParameter
from ansible_collections.netwire.fabric.plugins.module_utils._contract import Context
from ansible_collections.netwire.fabric.plugins.module_utils._firewall.manager import FirewallManager
from ansible_collections.netwire.fabric.plugins.module_utils._firewall.nft import NftClient

LISTING = json.loads((Path(__file__).parent / "fixtures" / "firewall_listing.json").read_text())
NETS = [{"name": "dmz", "subnet": "10.1.0.0/24", "bridge": "br-a"},
        {"name": "app", "subnet": "10.2.0.0/24", "bridge": "br-b", "icc": False}]
FLOWS = [{"from": "dmz", "to": "app"}]
PUBS = [{"network": "dmz", "host_port": 8080, "container_address": "10.1.0.5", "container_port": 80,
         "bind_address": "198.19.0.211"}]
# tunnel endpoints and the fabric's host addresses of the captured tables
EXTRA = {"tunnels": [{"network": "app", "type": "vxlan", "port": 8472, "local_address": "198.19.0.212",
                      "device": "eth1", "peers": ["198.19.0.213", "198.19.0.211"]},
                     {"network": "dmz", "type": "gre", "local_address": "198.19.0.212", "device": "eth1",
                      "peers": ["198.19.0.211"]}],
         "host_addresses": ["198.19.0.211", "198.19.0.212", "198.18.0.211"],
         "host_services": [{"address": "198.19.0.211", "proto": "tcp", "port": 8080}]}


class FakeClient(object):
    def __init__(self, listing):
        self.listing = listing
        self.batches = []

    def list_ruleset(self):
        return copy.deepcopy(self.listing)

    def apply(self, batch, check=False):
        self.batches.append((batch, check))


def only_sentinel():
    return {"nftables": [i for i in LISTING["nftables"]
                         if "metainfo" in i or list(i.values())[0].get("table", list(i.values())[0].get("name"))
                         == "sentinel"]}


@pytest.fixture
def proc(tmp_path):
    (tmp_path / "sys/net/ipv4/conf/all").mkdir(parents=True)
    (tmp_path / "sys/net/ipv4/ip_forward").write_text("1\n")
    (tmp_path / "sys/net/ipv4/conf/all/route_localnet").write_text("0\n")
    return tmp_path


def manager(client, proc, check=False):
    return FirewallManager(Context(check, nft=client), {"table_name": "netwire"}, proc_root=str(proc))


def test_converged_is_not_changed_and_applies_nothing(proc):
    client = FakeClient(LISTING)
    result = manager(client, proc).present(NETS, FLOWS, PUBS, **EXTRA)
    assert result["changed"] is False and result["actions"] == []
    assert client.batches == []
    assert result["diff"]["before"] == result["diff"]["after"]


def test_fresh_host_creates_three_tables_in_one_batch(proc):
    client = FakeClient(only_sentinel())
    result = manager(client, proc).present(NETS, FLOWS, PUBS, **EXTRA)
    assert result["changed"] is True
    assert sorted(result["actions"]) == ["create table bridge netwire_icc", "create table inet netwire",
                                         "create table ip netwire_nat"]
    assert len(client.batches) == 1 and client.batches[0][1] is False
    assert result["diff"]["before"] == ""
    assert "table inet netwire {" in result["diff"]["after"]
    assert "sentinel" not in json.dumps(client.batches[0][0])


def test_check_mode_only_validates(proc):
    client = FakeClient(only_sentinel())
    result = manager(client, proc, check=True).present(NETS, FLOWS, PUBS, **EXTRA)
    assert result["changed"] is True
    assert [check for _batch, check in client.batches] == [True]


def test_change_replaces_changed_tables_and_deletes_unneeded_icc_table(proc):
    client = FakeClient(LISTING)
    nets = [dict(n, icc=True) for n in NETS]
    result = manager(client, proc).present(nets, [], PUBS)
    assert sorted(result["actions"]) == ["delete table bridge netwire_icc", "replace table inet netwire"]
    batch = client.batches[0][0]["nftables"]
    assert {"delete": {"table": {"family": "bridge", "name": "netwire_icc"}}} in batch
    assert "flow dmz -> app" in result["diff"]["before"] and "flow dmz -> app" not in result["diff"]["after"]


def test_absent_deletes_ours_and_is_idempotent(proc):
    client = FakeClient(LISTING)
    result = manager(client, proc).absent()
    assert sorted(result["actions"]) == ["delete table bridge netwire_icc", "delete table inet netwire",
                                         "delete table ip netwire_nat"]
    assert result["diff"]["after"] == "" and result["tables"] == []
    assert "sentinel" not in json.dumps(client.batches[0][0])
    client = FakeClient(only_sentinel())
    result = manager(client, proc).absent()
    assert result["changed"] is False and client.batches == []


def test_other_table_name_ignores_our_default_tables(proc):
    client = FakeClient(LISTING)
    mgr = FirewallManager(Context(nft=client), {"table_name": "edge"}, proc_root=str(proc))
    result = mgr.absent()
    assert result["changed"] is False
    result = mgr.present(NETS, FLOWS, PUBS, **EXTRA)
    assert "netwire" not in json.dumps(client.batches[0][0]).replace("netwire networks", "")


def test_invalid_parameters_touch_nothing(proc):
    client = FakeClient(LISTING)
    with pytest.raises(InvalidParameter):
        manager(client, proc).present(NETS, [{"from": "dmz", "to": "nowhere"}], PUBS)
    assert client.batches == []


def test_warns_when_forwarding_is_off(proc):
    (proc / "sys/net/ipv4/ip_forward").write_text("0\n")
    result = manager(FakeClient(LISTING), proc).present(NETS, FLOWS, PUBS, **EXTRA)
    assert any("net.ipv4.ip_forward is 0" in w for w in result["warnings"])


def test_warns_about_route_localnet_for_loopback_publications(proc):
    pubs = [dict(PUBS[0], bind_address="127.0.0.1")]
    result = manager(FakeClient(LISTING), proc).present(NETS, FLOWS, pubs)
    assert any("route_localnet" in w and "br-a" in w for w in result["warnings"])
    (proc / "sys/net/ipv4/conf/all/route_localnet").write_text("1\n")
    result = manager(FakeClient(LISTING), proc).present(NETS, FLOWS, pubs)
    assert result["warnings"] == []


def test_nft_client_reports_failures():
    def runner(args, data):
        return 1, "", "Error: Could not process rule: Operation not supported\n"
    client = NftClient(runner, nft_path="/usr/sbin/nft")
    with pytest.raises(BackendError, match="Failed to read nftables ruleset: Error: Could not process rule"):
        client.list_ruleset()
    with pytest.raises(BackendError, match="Failed to validate nftables transaction"):
        client.apply({"nftables": [{"add": {"table": {"family": "inet", "name": "x"}}}]}, check=True)


def test_nft_client_builds_commands():
    calls = []

    def runner(args, data):
        calls.append((args, data))
        return 0, '{"nftables": []}', ""
    client = NftClient(runner, nft_path="/usr/sbin/nft")
    assert client.list_ruleset() == {"nftables": []}
    client.apply({"nftables": [{"add": {"table": {"family": "inet", "name": "x"}}}]}, check=True)
    client.apply({"nftables": [{"add": {"table": {"family": "inet", "name": "x"}}}]})
    client.apply({"nftables": []})
    assert [c[0] for c in calls] == [["/usr/sbin/nft", "-j", "list", "ruleset"],
                                     ["/usr/sbin/nft", "-j", "-c", "-f", "-"],
                                     ["/usr/sbin/nft", "-j", "-f", "-"]]
    assert json.loads(calls[1][1]) == {"nftables": [{"add": {"table": {"family": "inet", "name": "x"}}}]}


def test_plan_matches_capture_sanity():
    # guards the fixture itself: it holds our three tables and a sentinel
    tables = rs.present_tables(rs.normalize_listing(LISTING, fw.table_names() + [("inet", "sentinel")]))
    assert sorted(tables) == [("bridge", "netwire_icc"), ("inet", "netwire"), ("inet", "sentinel"),
                              ("ip", "netwire_nat")]


def test_missing_nft_and_binding_is_a_clear_dependency_error(monkeypatch):
    from ansible_collections.netwire.fabric.plugins.module_utils._firewall import nft as _nft
    from ansible_collections.netwire.fabric.plugins.module_utils._errors import MissingDependency
    monkeypatch.setattr(_nft, "find_nft", lambda: None)
    monkeypatch.setattr(_nft, "HAS_NFT_BINDING", False)
    with pytest.raises(MissingDependency, match="neither the 'nft' command nor the 'nftables' Python binding"):
        _nft.NftClient()
    with pytest.raises(MissingDependency):
        _nft.NftClient(backend="cli")
