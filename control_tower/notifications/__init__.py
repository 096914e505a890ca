"""Notifications: escalation of items past their SLA, subscriptions, the daily digest and
the in-app notification list.

- `store`: the tables (`exc_user_notifications`, `exc_escalations`) and the service every
  part calls: `notify_user`, `users_to_tell`, `unread_count`, `list_notifications`, `mark_read`.
- `config`: escalation.yml and subscriptions.yml (file, line and reason of every mistake).
- `escalation`: the post-load step's work; `digest`: the daily digest; `deliveries`: sending
  to one person's address with the outbox's retries; `service`: both runs from the settings.
- `cli`: `control-tower notify check | escalate | digest`.

Importing the package registers `service.tell_assignee` with `exceptions.actions`, so an item
assigned to someone by any screen, the API or the command line tells them in the app.
"""

from __future__ import annotations

from control_tower.exceptions.actions import ASSIGNED_HOOKS
from control_tower.notifications.service import tell_assignee
from control_tower.notifications.store import (
    KINDS,
    NotificationError,
    list_notifications,
    mark_read,
    notify_user,
    unread_count,
    users_to_tell,
)

if tell_assignee not in ASSIGNED_HOOKS:
    ASSIGNED_HOOKS.append(tell_assignee)

__all__ = [
    "KINDS",
    "NotificationError",
    "list_notifications",
    "mark_read",
    "notify_user",
    "unread_count",
    "users_to_tell",
]
