from django.core.management.base import BaseCommand, CommandError

from anticounterfeit.api.models import MarketplaceClient
from anticounterfeit.catalog.actions import import_bundle


class Command(BaseCommand):
    help = "Import a catalog bundle (folder or ZIP): brands, references, sellers, authorized sellers; then build the banks."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--no-index", action="store_true", help="Import rows only; do not update the banks.")
        parser.add_argument("--tenant", help="Marketplace client (name) whose sellers sellers.jsonl holds; "
                                             "default: the default tenant.")

    def handle(self, path, no_index=False, tenant=None, **options):
        import os


        if not os.path.exists(path):
            raise CommandError(f"{path}: no such file or folder")
        client = None
        if tenant:
            client = MarketplaceClient.objects.filter(name=tenant).first()
            if client is None:
                raise CommandError(f"--tenant {tenant}: no such marketplace client")
        job = import_bundle(path, rebuild=not no_index, tenant=client)
        job.refresh_from_db()
        self.stdout.write(f"import #{job.pk}: {job.counts} — status {job.status}")
        for error in job.errors:
            self.stderr.write(f"  skipped: {error}")
        if job.errors:
            self.stdout.write(self.style.WARNING(f"{len(job.errors)} item(s) skipped; everything else was imported."))
