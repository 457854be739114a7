"""Leads' view of notice e-mails that did not go out: failed, given up, or stuck ``sending`` (the worker died
mid-send), with a hand resend. Every other delivery state is listed too, for checking a seller's complaint."""
from django.contrib import messages
from django.db.models import Count
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from anticounterfeit.accounts.models import LEAD_ROLES
from anticounterfeit.accounts.permissions import role_required
from anticounterfeit.core.labels import short_label

from . import actions
from .models import EMAIL_RESENDABLE_BY_HAND, Notification

lead_required = role_required(*LEAD_ROLES)
LOG_ROWS = 100
UNDELIVERED = [Notification.EmailStatus.SENDING, Notification.EmailStatus.FAILED, Notification.EmailStatus.GAVE_UP]


@lead_required
def email_log(request):
    """Undelivered e-mails by default (oldest first: the longest waiting); ``?status=`` picks one state."""
    wanted = request.GET.get("status", "")
    emails = Notification.objects.all()
    if wanted in Notification.EmailStatus.values:
        emails = emails.filter(email_status=wanted).order_by("-created_at", "-id")
    else:
        wanted = ""
        emails = emails.filter(email_status__in=UNDELIVERED).order_by("created_at", "id")
    counts = dict(Notification.objects.values_list("email_status").annotate(n=Count("pk")))
    return render(request, "notifications/emails.html", {
        "emails": emails[:LOG_ROWS], "wanted": wanted, "resendable": EMAIL_RESENDABLE_BY_HAND,
        "statuses": [(value, short_label(label), counts.get(value, 0))
                     for value, label in Notification.EmailStatus.choices],
    })


@lead_required
def resend(request, pk: int):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    notification = get_object_or_404(Notification, pk=pk)
    if actions.resend_email(notification, acting_user=request.user):
        messages.success(request, f"E-mail #{notification.pk} to {notification.email_to} queued to be sent again.")
    else:
        messages.error(request, f"E-mail #{notification.pk} is {notification.get_email_status_display().lower()}: "
                                "nothing to resend.")
    back = reverse("emails:log")
    status = request.POST.get("status", "")
    return redirect(f"{back}?status={status}" if status in Notification.EmailStatus.values else back)
