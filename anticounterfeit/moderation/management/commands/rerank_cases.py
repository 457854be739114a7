from django.core.management.base import BaseCommand

from anticounterfeit.moderation.actions import rerank_open_cases


class Command(BaseCommand):
    help = "Recompute the queue priority of every open case (run after changing CASE_PRIORITY_HALF_LIFE_HOURS)."

    def handle(self, **options):

        changed = rerank_open_cases()
        self.stdout.write(f"{changed} open case(s) re-ranked")
