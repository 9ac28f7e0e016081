# -*- coding: utf-8 -*-
# SPDX-License-Identifier: AGPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
    name: coopctl_jsonl
    type: notification
    short_description: playbook events as JSON lines, for coopctl
    description:
      - Writes one JSON object per line for the playbook start, each play and task start,
        each task result per host (changed/failed/skipped/unreachable and a message) and
        the final stats, to the file named by C(COOPCTL_EVENTS_FILE) (stdout when unset).
      - Results of C(no_log) tasks arrive here already censored by Ansible.
      - Not enabled by default; enable it with C(ANSIBLE_CALLBACKS_ENABLED=coopctl_jsonl).
    requirements:
      - enable in configuration or with ANSIBLE_CALLBACKS_ENABLED
"""

import json
import os
import sys
from datetime import datetime, timezone

from ansible.plugins.callback import CallbackBase

TAIL_LINES = 20


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _tail(text, lines=TAIL_LINES):
    if not text:
        return None
    return "\n".join(str(text).splitlines()[-lines:])


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "coopctl_jsonl"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        path = os.environ.get("COOPCTL_EVENTS_FILE")
        self._out = open(path, "a", buffering=1, encoding="utf-8") if path else sys.stdout

    def _emit(self, event, **fields):
        record = {"event": event, "time": _now()}
        record.update({k: v for k, v in fields.items() if v is not None})
        self._out.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
        self._out.flush()

    def _result(self, result, status):
        r = result._result
        fields = {
            "host": result._host.get_name(),
            "task": result._task.get_name().strip(),
            "id": result._task._uuid,
            "action": result._task.action,
            "status": status,
            "changed": bool(r.get("changed", False)),
            "failed": status == "failed",
            "skipped": status == "skipped",
            "unreachable": status == "unreachable",
            "msg": str(r["msg"]) if r.get("msg") else None,
        }
        if status == "failed":
            fields["rc"] = r.get("rc")
            fields["stderr"] = _tail(r.get("stderr"))
            fields["stdout"] = _tail(r.get("stdout"))
            fields["ignored"] = bool(result._task.ignore_errors) or None
        if r.get("censored"):
            fields["censored"] = True
        self._emit("task_result", **fields)

    def v2_playbook_on_start(self, playbook):
        self._emit("playbook_start", playbook=os.path.abspath(playbook._file_name))

    def v2_playbook_on_play_start(self, play):
        self._emit("play_start", play=play.get_name().strip(), check_mode=bool(play.check_mode) or None)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._emit("task_start", task=task.get_name().strip(), id=task._uuid, action=task.action)

    def v2_playbook_on_handler_task_start(self, task):
        self._emit("task_start", task=task.get_name().strip(), id=task._uuid, action=task.action, handler=True)

    def v2_runner_on_ok(self, result):
        self._result(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._result(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        hosts = {}
        for host in sorted(stats.processed.keys()):
            s = stats.summarize(host)
            hosts[host] = {
                "ok": s["ok"],
                "changed": s["changed"],
                "failed": s["failures"],
                "unreachable": s["unreachable"],
                "skipped": s["skipped"],
                "rescued": s["rescued"],
                "ignored": s["ignored"],
            }
        self._emit("stats", hosts=hosts)
        if self._out is not sys.stdout:
            self._out.close()
