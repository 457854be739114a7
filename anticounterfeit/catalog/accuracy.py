"""A brand's report accuracy, and the self-service removal privilege it earns or loses.

The figures are always derived from the outcomes of the brand's reports (decisions and reversals), never
stored, so a reversal anywhere (appeal, moderator) counts at once. Thresholds: ``settings.BRAND_SELF_SERVICE``.
"""
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from anticounterfeit.core import audit
from anticounterfeit.moderation.models import Decision
from anticounterfeit.trust.models import TrustEvent

from .models import Brand, BrandReport


@dataclass
class Accuracy:
    reports: int = 0
    decided: int = 0
    window: int = 0  # decided reports counted (the last WINDOW)
    confirmed: int = 0  # in the window: taken down and not reversed
    removals: int = 0  # all takedowns from the brand's reports (moderator-confirmed or direct)
    reversed: int = 0  # of those, reinstated (appeal or moderator reversal)
    eligible: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def confirmed_rate(self) -> float | None:
        return self.confirmed / self.window if self.window else None

    @property
    def reversal_rate(self) -> float | None:
        return self.reversed / self.removals if self.removals else None


def report_outcomes(brand: Brand):
    """The brand's reports annotated with ``taken_down``, ``dismissed`` and ``reversed``, newest first."""

    decisions = Decision.objects.filter(case=OuterRef("case"))
    return BrandReport.objects.filter(brand=brand).annotate(
        taken_down=Exists(decisions.filter(action=Decision.Action.TAKEDOWN)),
        dismissed=Exists(decisions.filter(action=Decision.Action.DISMISS)),
        reversed=Exists(TrustEvent.objects.filter(kind=TrustEvent.Kind.REINSTATED, decision__case=OuterRef("case"))),
    ).order_by("-created_at", "-id")


def accuracy_of(brand: Brand) -> Accuracy:
    rules = settings.BRAND_SELF_SERVICE
    rows = list(report_outcomes(brand).values("taken_down", "dismissed", "reversed"))
    decided = [r for r in rows if r["taken_down"] or r["dismissed"]]
    window = decided[: rules["WINDOW"]]
    acc = Accuracy(reports=len(rows), decided=len(decided), window=len(window),
                   confirmed=sum(1 for r in window if r["taken_down"] and not r["reversed"]),
                   removals=sum(1 for r in rows if r["taken_down"]),
                   reversed=sum(1 for r in rows if r["taken_down"] and r["reversed"]))
    if acc.decided < rules["MIN_DECIDED_REPORTS"]:
        acc.reasons.append(f"{acc.decided} of the {rules['MIN_DECIDED_REPORTS']} decided reports needed so far")
    elif acc.confirmed_rate < rules["MIN_CONFIRMED_RATE"]:
        acc.reasons.append(f"{acc.confirmed_rate:.0%} of your last {acc.window} decided reports were confirmed "
                           f"(needs at least {rules['MIN_CONFIRMED_RATE']:.0%})")
    if acc.reversal_rate is not None and acc.reversal_rate > rules["MAX_REVERSAL_RATE"]:
        acc.reasons.append(f"{acc.reversal_rate:.0%} of your removals were reversed "
                           f"(at most {rules['MAX_REVERSAL_RATE']:.0%} allowed)")
    acc.eligible = not acc.reasons
    if acc.eligible:
        acc.reasons.append(f"{acc.confirmed_rate:.0%} of your last {acc.window} decided reports were confirmed and "
                           f"{(acc.reversal_rate or 0):.0%} of your removals were reversed")
    return acc


@transaction.atomic
def evaluate_self_service(brand: Brand, *, acting_user=None, cause: str = "") -> Accuracy:
    """Grant or revoke direct removal by the accuracy rule; a change is audited with its reason."""
    brand = Brand.objects.select_for_update().get(pk=brand.pk)
    acc = accuracy_of(brand)
    if acc.eligible != brand.self_service:
        verb = "granted" if acc.eligible else "revoked"
        reason = f"Self-service removal {verb}: {'; '.join(acc.reasons)}" + (f" (after {cause})" if cause else "")
        brand.self_service, brand.self_service_reason = acc.eligible, reason[:300]
        brand.self_service_changed_at = timezone.now()
        brand.save(update_fields=["self_service", "self_service_reason", "self_service_changed_at"])
        audit.record("brand.self_service", brand, actor=acting_user, before={"self_service": not acc.eligible},
                     after={"self_service": acc.eligible, "reason": reason[:300]})
    return acc


def reevaluate_for_case(case, *, acting_user=None) -> None:
    """Called by moderation when a brand-reported case is decided or reversed."""
    for brand in Brand.objects.filter(reports__case=case).distinct():
        evaluate_self_service(brand, acting_user=acting_user, cause=f"the outcome of case #{case.pk}")
