"""python manage.py train_scorer [--min-decisions N] [--rollback] — retrain from moderator decisions."""
from django.core.management.base import BaseCommand, CommandError

from anticounterfeit.detection import actions
from anticounterfeit.detection.models import ScorerVersion


class Command(BaseCommand):
    help = "Train a new scorer version from takedown/dismiss decisions (or roll back to the previous one)."

    def add_arguments(self, parser):
        parser.add_argument("--min-decisions", type=int, default=None,
                            help="refuse below this many labelled listings (default: settings)")
        parser.add_argument("--rollback", action="store_true", help="re-activate the previous version")
        parser.add_argument("--candidate", action="store_true",
                            help="store the new version without activating it (backtest or shadow it first)")

    def handle(self, *args, min_decisions=None, rollback=False, candidate=False, **options):
        try:
            if rollback:
                v = actions.rollback_scorer()
                self.stdout.write(f"rolled back: active scorer is now v{v.number} ({v.version})")
                return
            v = actions.train_scorer(min_decisions=min_decisions, activate=not candidate)
        except (actions.NotEnoughDecisions, ScorerVersion.DoesNotExist) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"trained scorer v{v.number} ({v.version}) on {v.n_decisions} decisions "
                          f"({v.n_counterfeit} takedowns); {'now active' if v.is_active else 'stored as a candidate'}")
