from django.core.management.base import BaseCommand, CommandError

from anticounterfeit.compliance.actions import submit_pending


class Command(BaseCommand):
    help = "POST the statements of reasons not yet accepted to the Transparency Database (DSA_SUBMIT_URL), in batches."

    def handle(self, **options):
        from django.conf import settings


        if not settings.DSA["SUBMIT_URL"]:
            raise CommandError("DSA_SUBMIT_URL is not set: nothing to submit to")
        for submission in submit_pending():
            self.stdout.write(f"{submission}: {submission.statements.count()} sent, {submission.attempts} attempt(s)"
                              f"{' — ' + submission.last_error if submission.last_error else ''}")
