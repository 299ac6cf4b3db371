# -*- coding: utf-8 -*-
# A benchmark aid, not part of the collection: scripts/bench_noop.py enables it to time each task.
"""Write each task's wall time (from its start to the next task's start) to a JSON file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: netwire_task_times
    type: aggregate
    short_description: each task's wall time, as JSON, for scripts/bench_noop.py
    description: Writes [[play, task, seconds], ...] to the file named by NETWIRE_TASK_TIMES.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "netwire_task_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._times = []
        self._play = ""
        self._current = None

    def _close(self):
        if self._current is not None:
            self._current[2] = round(time.monotonic() - self._current[2], 3)
            self._times.append(self._current)
            self._current = None

    def v2_playbook_on_play_start(self, play):
        self._close()
        self._play = play.get_name()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self._current = [self._play, task.get_name(), time.monotonic()]

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def v2_playbook_on_stats(self, stats):
        self._close()
        path = os.environ.get("NETWIRE_TASK_TIMES")
        if path:
            with open(path, "w") as f:
                json.dump(self._times, f)
