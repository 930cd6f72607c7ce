"""Signals sent after a redemption or rollback commits, for the apps above this one
(distributions and webhooks) to react to without this app knowing them.

    redemption_succeeded(sender=Redemption, parent=Redemption, children=[Redemption, ...])
    redemption_failed(sender=Redemption, parent=Redemption, children=[...])
    redemption_rolled_back(sender=RedemptionRollback, rollback=RedemptionRollback, children=[...])

Receivers run after the transaction commits, and only if it commits; a receiver should enqueue
a Celery task rather than do slow work inline.
"""

from django.db import transaction
from django.dispatch import Signal

redemption_succeeded = Signal()
redemption_failed = Signal()
redemption_rolled_back = Signal()


def send_on_commit(signal: Signal, sender, **kwargs) -> None:
    transaction.on_commit(lambda: signal.send(sender=sender, **kwargs))
