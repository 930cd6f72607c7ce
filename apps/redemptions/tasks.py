from celery import shared_task

from . import services


@shared_task(name="redemptions.sessions_expire")
def sessions_expire_task() -> int:
    """Expired session locks stop counting the moment they expire; this marks them released."""
    return services.sessions_expire()
