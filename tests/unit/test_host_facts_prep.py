"""host_facts' read for host_prep: dpkg's database, a file's state, forwarding (pure parts, on files of the test)."""

import hashlib
import os

from ansible_collections.netwire.fabric.plugins.module_utils._host import facts as hf

STATUS = """Package: openvswitch-switch
Status: install ok installed
Architecture: amd64
Description: Open vSwitch switch implementations
 Status: install ok installed
 (a continuation line that looks like a field is not one)

Package: nftables
Status: deinstall ok config-files
Architecture: amd64

Package: iperf3
Status: hold ok installed

Package: busybox-static
Status: install ok unpacked
"""


def test_dpkg_database_holds_installed_only_install_ok_installed(tmp_path):
    assert hf.installed_packages(STATUS) == {"openvswitch-switch"}
    status = tmp_path / "status"
    status.write_text(STATUS)
    names = ["nftables", "openvswitch-switch", "iperf3", "busybox-static", "openvswitch-switch=2.17", "ethtool"]
    # removed (config-files), held, half-installed, pinned versions and unknown names are missing: apt decides
    assert hf.missing_packages(names, str(status)) == ["nftables", "iperf3", "busybox-static",
                                                       "openvswitch-switch=2.17", "ethtool"]
    assert hf.missing_packages(["nftables"], str(tmp_path / "no-dpkg")) == ["nftables"]
    assert hf.missing_packages([], str(status)) == []


def test_file_state_is_owner_group_mode_and_sha1_of_a_regular_file_only(tmp_path):
    path = tmp_path / "90-netwire.conf"
    path.write_text("net.ipv4.ip_forward = 1\n")
    os.chmod(str(path), 0o640)
    st = hf.file_state(str(path))
    assert st["mode"] == "640" and st["sha1"] == hashlib.sha1(b"net.ipv4.ip_forward = 1\n").hexdigest()
    assert st["owner"] and st["group"]
    link = tmp_path / "link.conf"
    link.symlink_to(path)
    assert hf.file_state(str(link)) is None            # a link is not the file the role writes
    assert hf.file_state(str(tmp_path)) is None        # nor a directory
    assert hf.file_state(str(tmp_path / "missing")) is None


def test_ip_forward_as_the_kernel_shows_it(tmp_path):
    path = tmp_path / "ip_forward"
    path.write_text("0\n")
    assert hf.ip_forward(str(path)) == "0"
    assert hf.ip_forward(str(tmp_path / "missing")) == "unknown"
