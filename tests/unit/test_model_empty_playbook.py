"""A forgotten model is refused by netwire_validate, before any host is contacted (issue 11)."""

from tests.unit.test_model_playbook import assert_no_connection, playbook
from tests.unit.test_model_playbook import unreachable  # pylint: disable=unused-import


def test_a_forgotten_model_is_refused_and_names_down_yml(unreachable):  # noqa: F811
    rc, out = playbook("-i", str(unreachable))
    assert rc != 0
    assert "(model): the model declares no zones, networks or containers" in out
    assert "run playbooks/down.yml" in out and "netwire_allow_empty: true" in out
    assert_no_connection(out)


def test_an_explicitly_empty_model_is_accepted(unreachable):  # noqa: F811
    rc, out = playbook("-i", str(unreachable), "-e", "netwire_allow_empty=true")
    assert rc == 0, out
    assert "The netwire model is valid: 0 zones, 0 networks, 0 containers over 3 hosts" in out
    assert_no_connection(out)
