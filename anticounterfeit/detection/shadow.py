"""The shadow candidate's record: its scores next to the live ones, with the moderators' verdicts as they arrive."""
from anticounterfeit.moderation.models import Decision

from .models import Detection, ScorerVersion
from .policy import review_threshold_for
from .replay import Shadowed, shadow_summary

VERDICTS = {Decision.Action.TAKEDOWN: True, Decision.Action.DISMISS: False}


def shadow_rows(version: ScorerVersion, limit: int = 20000) -> list[Shadowed]:
    """The newest shadow-scored detection per listing, against the listing's live threshold, with the latest
    takedown/dismiss of the listing if any."""
    detections = (Detection.objects.filter(shadow_scorer=version, shadow_score__isnull=False)
                  .select_related("listing__seller", "listing__matched_brand").order_by("listing_id", "-pk")
                  .distinct("listing_id")[:limit])
    detections = list(detections)
    verdicts: dict[int, bool] = {}
    for listing_id, action in (Decision.objects.filter(case__listing__in=[d.listing_id for d in detections],
                                                       action__in=VERDICTS)
                               .order_by("created_at", "pk").values_list("case__listing_id", "action")):
        verdicts[listing_id] = VERDICTS[action]
    return [Shadowed(live_score=d.score, shadow_score=d.shadow_score, threshold=review_threshold_for(d.listing),
                     counterfeit=verdicts.get(d.listing_id)) for d in detections]


def summary(version: ScorerVersion) -> dict:
    return shadow_summary(shadow_rows(version))
