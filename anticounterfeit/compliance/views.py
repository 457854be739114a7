"""The transparency report page (leads and admins), with its CSV."""
import csv

from django.http import HttpResponse
from django.shortcuts import render

from anticounterfeit.accounts.models import LEAD_ROLES
from anticounterfeit.accounts.permissions import role_required

from . import report
from .models import StatementOfReasons, StatementSubmission

lead_required = role_required(*LEAD_ROLES)


@lead_required
def transparency(request):
    months = report.load()
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="transparency-report.csv"'
        writer = csv.writer(response)
        writer.writerow(report.CSV_HEADER)
        writer.writerows(report.csv_rows(months))
        return response
    return render(request, "compliance/transparency.html", {
        "months": months,
        "pending": StatementOfReasons.objects.filter(submitted_at__isnull=True).count(),
        "refused": StatementOfReasons.objects.exclude(submission_error="").count(),
        "submissions": StatementSubmission.objects.all()[:10],
    })
