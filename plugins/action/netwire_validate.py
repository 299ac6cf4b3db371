# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""netwire_validate: check the netwire model on the controller and compute each host's plan.

Runs entirely on the controller: it never opens a connection, never creates a
temporary directory on a host and never runs a module. Everything it needs is
in the inventory variables (``hostvars``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.netwire.fabric.plugins.plugin_utils import model as _model

# The variables a host contributes to the model's host settings.
HOST_VARS = ('netwire_host', 'netwire_host_defaults', 'netwire_lab_underlay_ip', 'ansible_facts', 'ansible_host')
ARG_TO_VAR = (('zones', 'netwire_zones'), ('networks', 'netwire_networks'), ('containers', 'netwire_containers'),
              ('dns', 'netwire_dns'), ('control_plane', 'netwire_control_plane'), ('catalog', 'netwire_catalog'),
              ('lb', 'netwire_lb'), ('encryption', 'netwire_encryption'), ('trunks', 'netwire_trunks'))

ARGUMENT_SPEC = dict(
    zones=dict(type='raw'),
    networks=dict(type='raw'),
    containers=dict(type='raw'),
    dns=dict(type='raw'),
    control_plane=dict(type='raw'),
    catalog=dict(type='raw'),
    lb=dict(type='raw'),
    encryption=dict(type='raw'),
    trunks=dict(type='raw'),
    hosts=dict(type='list', elements='str'),
    check_consistency=dict(type='bool', default=True),
    allow_empty=dict(type='bool'),
)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)

        hostvars = task_vars.get('hostvars') or {}
        groups = task_vars.get('groups') or {}
        me = task_vars.get('inventory_hostname')
        names = args['hosts'] if args['hosts'] is not None else list(groups.get('all') or [])
        findings = []

        model = {}
        for arg, var in ARG_TO_VAR:
            if args[arg] is not None:
                model[var] = args[arg]
            elif task_vars.get(var) is not None:
                # the task's own variables: inventory, play vars and extra vars alike
                try:
                    model[var] = self._templar.template(task_vars[var])
                except AnsibleError as exc:
                    findings.append({'path': var, 'msg': 'cannot be templated: %s' % exc})

        hosts = {}
        for name in names:
            hosts[name] = {}
            for var in HOST_VARS:
                value = self._host_var(hostvars, name, var, findings)
                if value is not None:
                    hosts[name][var] = value

        if args['check_consistency']:
            findings.extend(self._inconsistent(hostvars, me, names, args))

        normalized, model_findings, warnings = _model.analyze(model, hosts)
        findings.extend(model_findings)
        allow_empty = args['allow_empty']
        if allow_empty is None:
            allow_empty = self._templar.template(task_vars.get('netwire_allow_empty', False))
        if not findings and _model.is_empty(model) and not boolean(allow_empty, strict=False):
            # a forgotten model must not purge every host: removing everything is down.yml's job
            findings.append({'path': '(model)', 'msg': _model.EMPTY_MODEL_MSG})

        result['changed'] = False
        result['findings'] = findings
        for warning in warnings:
            self._display.warning('netwire model: %s: %s' % (warning['path'], warning['msg']))
        result['model_warnings'] = warnings
        if findings:
            result['failed'] = True
            result['msg'] = _model.format_findings(findings)
            return result
        result['model'] = normalized
        result['plans'] = _model.plans_of(normalized)
        result['msg'] = 'The netwire model is valid: %d zones, %d networks, %d containers over %d hosts' % (
            len(normalized['zones']), len(normalized['networks']), len(normalized['containers']),
            len(normalized['hosts']))
        return result

    @staticmethod
    def _host_var(hostvars, host, var, findings):
        """A variable of ``host`` as templated by Ansible; a templating error becomes a finding."""
        if host not in hostvars:
            return None
        try:
            hvars = hostvars[host]
            if var not in hvars:
                return None
            return hvars[var]
        except KeyError:
            return None
        except AnsibleError as exc:
            findings.append({'path': 'hostvars.%s.%s' % (host, var), 'msg': 'cannot be templated: %s' % exc})
            return None

    def _inconsistent(self, hostvars, me, names, args):
        """The model must be one structure: every host must see the same netwire_* variables.

        Compares inventory variables (hostvars) only, so a model given as play or extra vars is no conflict.
        """
        findings = []
        for arg, var in ARG_TO_VAR:
            if args[arg] is not None:
                continue
            mine = self._host_var(hostvars, me, var, [])
            for name in names:
                if name == me:
                    continue
                theirs = self._host_var(hostvars, name, var, [])
                if theirs is not None and theirs != mine:
                    findings.append({'path': 'hostvars.%s.%s' % (name, var),
                                     'msg': 'differs from %s as host %s sees it: define the model once, for all '
                                            'hosts (group_vars/all)' % (var, me)})
        return findings
