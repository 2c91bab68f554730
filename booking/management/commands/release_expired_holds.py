"""Release expired slot holds (run every few minutes from cron or a systemd timer).

Correctness never waits for this: the booking path treats expired holds as free inside its own
transaction. It keeps the appointments table and the staff lists free of stale holds.
"""

from django.core.management.base import BaseCommand

from booking.services import holds_release_expired


class Command(BaseCommand):
    help = "Release every slot hold whose time has run out."

    def handle(self, *args, **options):
        released = holds_release_expired()
        self.stdout.write(f"Released {released} expired hold(s).")
