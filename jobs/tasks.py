"""Background jobs of the jobs app. Every project task is a config.celery.BaseTask (the app's task class)."""

from celery import shared_task

from . import services


@shared_task
def heartbeat() -> None:
    """Run by the beat every 15 minutes (CELERY_BEAT_SCHEDULE) so staff can see the scheduler is alive."""
    services.heartbeat_record()
