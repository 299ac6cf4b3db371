"""The docs state the model's facts as the code has them (a drift here misleads users sizing MTUs)."""

import re
from pathlib import Path

import pytest

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
