from django.core.management.base import BaseCommand

from home.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create the demo clinic: sample users for every role, doctors, pages. Safe to re-run."

    def handle(self, *args, **options):
        seed_demo(stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready. Sample users' password: {DEMO_PASSWORD}")
        )
