"""A marketplace client's webhook page: URL, delivery log, signing secret (masked; reveal and rotate are audited)
and re-attempts. For the client's own API user, and for leads and admins (every client)."""
from django.conf import settings
from django.contrib import messages
from django.db.models import Count
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render

from anticounterfeit.accounts.models import LEAD_ROLES, Role, role_of
from anticounterfeit.accounts.permissions import role_required
from anticounterfeit.api.models import MarketplaceClient

from . import actions, webhooks
from .forms import WebhookUrlForm
from .models import RETRYABLE_BY_HAND, WebhookDelivery

webhook_admin_required = role_required(Role.API_CLIENT, *LEAD_ROLES)
LOG_ROWS = 100


def _client(request, pk: int) -> MarketplaceClient:
    return get_object_or_404(MarketplaceClient.objects.visible_to(request.user), pk=pk)


@webhook_admin_required
def clients(request):
    qs = MarketplaceClient.objects.visible_to(request.user).order_by("name")
    if role_of(request.user) == Role.API_CLIENT:  # a client has one page: its own
        own = qs.first()
        if own is not None:
            return redirect("webhooks:client", pk=own.pk)
    rows = []
    for client in qs:
        counts = dict(client.webhook_deliveries.values_list("status").annotate(n=Count("pk")))
        rows.append({"client": client, "counts": counts})
    return render(request, "notifications/webhook_clients.html", {"rows": rows})


def _page(request, client: MarketplaceClient, *, secret: str = "", form=None, status_code: int = 200):
    deliveries = client.webhook_deliveries.all()
    wanted = request.GET.get("status", "")
    if wanted in WebhookDelivery.Status.values:
        deliveries = deliveries.filter(status=wanted)
    counts = dict(client.webhook_deliveries.values_list("status").annotate(n=Count("pk")))
    response = render(request, "notifications/webhook_client.html", {
        "client": client, "form": form or WebhookUrlForm(initial={"webhook_url": client.webhook_url}),
        "masked": webhooks.masked(webhooks.signing_secret(client)), "secret": secret,
        "grace_hours": settings.NOTIFY["WEBHOOK_SECRET_GRACE_HOURS"],
        "previous_until": webhooks.grace_ends_at(client) if webhooks.previous_secret(client) else None,
        "deliveries": deliveries[:LOG_ROWS], "wanted": wanted,
        "statuses": [(value, label, counts.get(value, 0)) for value, label in WebhookDelivery.Status.choices],
        "retryable": RETRYABLE_BY_HAND,
    }, status=status_code)
    if secret:
        response["Cache-Control"] = "no-store"  # the secret is shown in this response only
    return response


@webhook_admin_required
def client_detail(request, pk: int):
    return _page(request, _client(request, pk))


@webhook_admin_required
def set_url(request, pk: int):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    client = _client(request, pk)
    form = WebhookUrlForm(request.POST)
    if not form.is_valid():
        return _page(request, client, form=form, status_code=400)
    actions.set_webhook_url(client, form.cleaned_data["webhook_url"], acting_user=request.user)
    messages.success(request, "Webhook URL saved.")
    return redirect("webhooks:client", pk=client.pk)


@webhook_admin_required
def secret(request, pk: int):
    """POST action=reveal shows the current secret once; action=rotate replaces it and shows the new one once."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    client = _client(request, pk)
    action = request.POST.get("action")
    if action == "reveal":
        value = actions.reveal_webhook_secret(client, acting_user=request.user)
    elif action == "rotate":
        value = actions.rotate_webhook_secret(client, acting_user=request.user)
        client.refresh_from_db()
        ends = webhooks.grace_ends_at(client)
        messages.success(request, "The signing secret was rotated. Deliveries are signed with the new secret from now "
                                  f"on; until {ends:%Y-%m-%d %H:%M} UTC they also carry the previous secret's "
                                  f"signature in {webhooks.PREVIOUS_SIGNATURE_HEADER}. Update the receiver.")
    else:
        messages.error(request, "action: choose reveal or rotate")
        return redirect("webhooks:client", pk=client.pk)
    return _page(request, client, secret=value)


@webhook_admin_required
def retry(request, pk: int, delivery_id: int):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    client = _client(request, pk)
    delivery = get_object_or_404(client.webhook_deliveries.all(), pk=delivery_id)
    if actions.retry_webhook_delivery(delivery, acting_user=request.user):
        messages.success(request, f"Delivery #{delivery.pk} queued for another attempt.")
    else:
        messages.error(request, f"Delivery #{delivery.pk} is {delivery.get_status_display().lower()}: nothing to retry.")
    return redirect("webhooks:client", pk=client.pk)
