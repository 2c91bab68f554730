"""Putting background work on the queue so that it shares the fate of the transaction asking
for it.

With django-tasks-db (production) the task row is written inside the caller's transaction: it
commits with the booking or is rolled back with it, so a worker killed between the commit and
the reply can never lose a notice. Backends that run or send at once (the immediate backend of
development and tests) are asked after the commit instead, so nothing is sent for work that is
then rolled back.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone


def _stored_in_the_database(task) -> bool:
    from django_tasks_db import DatabaseBackend

    return isinstance(task.get_backend(), DatabaseBackend)


def enqueue_with_transaction(task, **kwargs) -> None:
    """Enqueue `task(**kwargs)` as part of the current transaction (see the module)."""
    if _stored_in_the_database(task):
        task.enqueue(**kwargs)
    else:
        transaction.on_commit(lambda: task.enqueue(**kwargs))


def retry_later(task, *, attempt: int, **kwargs) -> None:
    """Queue the next try of a failed task: 1, 4, 16, 64 minutes after this one where the
    backend can defer, at once otherwise."""
    if task.get_backend().supports_defer:
        task = task.using(run_after=timezone.now() + timedelta(minutes=4 ** (attempt - 1)))
    task.enqueue(attempt=attempt + 1, **kwargs)
