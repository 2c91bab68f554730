"""Queue the reminders that are due (run every ~10 minutes from cron or a systemd timer).

Each confirmed visit starting within the clinic's `reminder_hours_before` gets one reminder:
the run claims the appointments before it queues anything, so overlapping runs never send twice.
"""

from django.core.management.base import BaseCommand

from booking.notifications import reminders_send_due


class Command(BaseCommand):
    help = "Queue reminders for confirmed appointments that start within the reminder window."

    def handle(self, *args, **options):
        references = reminders_send_due()
        self.stdout.write(f"Queued {len(references)} reminder(s).")
