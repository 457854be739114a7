from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Generate the project's own demo bundle (invented brands, drawn logos and products, genuine and fake listings)."

    def add_arguments(self, parser):
        parser.add_argument("out")
        parser.add_argument("--listings", type=int, default=80)
        parser.add_argument("--brands", type=int, default=5)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, out, listings, brands, seed, **options):
        from ml.synth import generate_bundle

        summary = generate_bundle(out, seed=seed, n_brands=brands, n_listings=listings)
        self.stdout.write(f"demo bundle written to {out}: {summary}")
