"""Alerts: check → decide → store → send, with the ``alerts`` index as the outbox.

- check: `alerts.checker` runs the detectors of `alerts.detectors` (pure functions) on what
  `alerts.volume` and `alerts.coverage` read from the engine;
- decide: `alerts.routing` picks recipients and holds non-critical alerts in quiet hours
  (rules in `alerts.rules`, data in ``alerts/data/``);
- store: `alerts.store` creates each alert once (content-derived id) and changes it by
  compare-and-set; `alerts.lifecycle` acknowledges, assigns and resolves;
- send: `alerts.worker` with `alerts.delivery` (exactly once, see its docstring),
  `alerts.email` (Vietnamese templates), `alerts.smtp` and `alerts.journal`.
"""

from alerts.checker import AlertChecker
from alerts.lifecycle import acknowledge, assign, resolve
from alerts.model import Delivery, DeliveryState, OutboxAlert, StoryRef
from alerts.rules import AlertRules, load_rules
from alerts.store import AlertStore
from alerts.worker import AlertWorker

__all__ = [
    "AlertChecker",
    "AlertRules",
    "AlertStore",
    "AlertWorker",
    "Delivery",
    "DeliveryState",
    "OutboxAlert",
    "StoryRef",
    "acknowledge",
    "assign",
    "load_rules",
    "resolve",
]
