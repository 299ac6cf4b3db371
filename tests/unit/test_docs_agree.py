"""The docs state the model's facts as the code has them (a drift here misleads users sizing MTUs)."""

import re
from pathlib import Path

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as _model

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("doc", ["model.md", "ovs.md"])
@pytest.mark.parametrize("overlay", ["vxlan", "gre", "geneve"])
def test_encapsulation_overhead_in_docs_is_the_models(doc, overlay):
    text = (DOCS / doc).read_text()
    said = [int(n) for n in re.findall(r"\b%s (\d+)" % overlay, text, flags=re.IGNORECASE)]
    assert said, "docs/%s does not state the %s overhead" % (doc, overlay)
    assert set(said) == {_model.ENCAP_OVERHEAD[overlay]}, \
        "docs/%s says %s overhead %s, the model uses %d" % (doc, overlay, said, _model.ENCAP_OVERHEAD[overlay])


@pytest.mark.parametrize("path", ["docs/model.md", "plugins/modules/linux_tunnel.py", "plugins/modules/ovs_tunnel.py",
                                  "plugins/modules/firewall.py"])
def test_default_udp_ports_in_docs_are_the_overlay_tables(path):
    """The default ports are written once in code (_names.OVERLAYS); the docs that state them must agree."""
    lines = [line for line in (DOCS.parent / path).read_text().splitlines() if "UDP destination port" in line]
    assert lines, "%s does not describe the UDP destination port" % path
    said = set(int(n) for n in re.findall(r"\b(\d{4,5})\b", lines[0]))
    want = set(o.udp_port for o in _names.OVERLAYS.values() if o.udp_port)
    assert said == want, "%s says default UDP ports %s, _names.OVERLAYS has %s" % (path, sorted(said), sorted(want))
