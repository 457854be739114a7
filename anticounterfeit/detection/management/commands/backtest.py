"""python manage.py backtest --scorer VERSION | --threshold X [--brand KEY] --days N"""
from django.core.management.base import BaseCommand, CommandError

from anticounterfeit.catalog.models import Brand
from anticounterfeit.detection.backtests import run_backtest
from anticounterfeit.detection.models import Backtest, ScorerVersion
from anticounterfeit.detection.replay import summary_lines


class Command(BaseCommand):
    help = ("Replay a candidate scorer version or review threshold on the decided history of the last N days "
            "(stored signals, no model runs) and print the figures next to the live setting.")

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--scorer", type=int, help="a stored scorer version number (train_scorer --candidate)")
        which.add_argument("--threshold", type=float, help="a review threshold (global, or the brand's with --brand)")
        parser.add_argument("--brand", help="brand key: backtest this brand's threshold")
        parser.add_argument("--days", type=int, default=30)

    def handle(self, *, scorer, threshold, brand, days, **options):

        try:
            if scorer is not None:
                if brand:
                    raise CommandError("--brand goes with --threshold")
                backtest = run_backtest(Backtest.Kind.SCORER, days=days,
                                        scorer=ScorerVersion.objects.get(number=scorer))
            elif brand:
                backtest = run_backtest(Backtest.Kind.BRAND_THRESHOLD, days=days, threshold=threshold,
                                        brand=Brand.objects.get(brand_key=brand))
            else:
                backtest = run_backtest(Backtest.Kind.GLOBAL_THRESHOLD, days=days, threshold=threshold)
        except (ScorerVersion.DoesNotExist, Brand.DoesNotExist, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"backtest #{backtest.pk}: {backtest.describe()}")
        self.stdout.write("\n".join(summary_lines(backtest.results)))
