"""train_scorer: moderator decisions (takedown = counterfeit, dismiss = genuine) become a new, active,
versioned scorer that workers load; the previous version stays for rollback; the beat task retrains
only when enough new decisions exist."""
import pytest
from django.core.management import CommandError, call_command

from anticounterfeit.catalog.models import Brand
from anticounterfeit.core.models import AuditEvent
from anticounterfeit.detection.actions import active_version as active_scorer_version
from anticounterfeit.detection.detector_cache import load_scorer
from anticounterfeit.detection.models import Backtest, ScorerVersion
from anticounterfeit.moderation import actions
from anticounterfeit.moderation.models import Case
from tests.factories import make_brand, make_reference, scanned_listing
from workers.training import retrain_scorer_if_due

pytestmark = [pytest.mark.services, pytest.mark.django_db]

BASE = {"img_sim": 0.9, "brand_found": 1.0, "mention_any": 1.0, "seller_authorized": 0.0, "price_known": 1.0}
# In this marketplace moderators take down the cheap ones and dismiss the fairly priced ones.
FAKE = {**BASE, "price_vs_msrp": -2.0}
FAIR = {**BASE, "price_vs_msrp": 0.0}


def decide(n: int, moderator, *, start: int = 0) -> None:
    brand = Brand.objects.filter(brand_key="acme").first() or make_brand("acme", "Acme")
    ref = make_reference(brand, f"ref-{start}")
    for i in range(start, start + n):
        fake = i % 2 == 0
        listing = scanned_listing(f"L{i}", f"S{i}", score=0.9, brand=brand, ref=ref, signals=FAKE if fake else FAIR)
        case = Case.objects.get(listing=listing)
        if fake:
            actions.do_take_down(case.pk, acting_user=moderator)
        else:
            actions.do_dismiss(case.pk, acting_user=moderator)


def test_train_scorer_versions_the_model_and_changes_the_scores(moderator, capsys):
    decide(12, moderator)
    default = load_scorer(None)
    assert active_scorer_version() is None

    call_command("train_scorer", "--min-decisions", "10")
    v1 = active_scorer_version()
    assert v1.number == 1 and v1.n_decisions == 12 and v1.n_counterfeit == 6
    assert "trained scorer v1" in capsys.readouterr().out
    trained = load_scorer(v1)
    assert trained.version == v1.version != default.version
    fake, fair = trained.predict([FAKE, FAIR])
    assert fake > 0.5 > fair, (fake, fair)
    assert list(default.predict([FAKE, FAIR])) != [fake, fair]
    event = AuditEvent.objects.get(action="detection.scorer_trained")
    assert event.before == {"number": None, "version": "shipped default"}
    assert event.after == {"number": 1, "version": v1.version}

    # More decisions: a new version v2 (v1 kept); rollback re-activates v1.
    decide(8, moderator, start=12)
    call_command("train_scorer", "--min-decisions", "10")
    v2 = active_scorer_version()
    assert v2.number == 2 and v2.n_decisions == 20 and v2.version != v1.version
    assert ScorerVersion.objects.get(number=1).is_active is False
    call_command("train_scorer", "--rollback")
    assert active_scorer_version().number == 1
    assert load_scorer(active_scorer_version()).version == v1.version
    assert AuditEvent.objects.filter(action="detection.scorer_activated").count() == 1
    with pytest.raises(CommandError, match="no earlier scorer version"):
        call_command("train_scorer", "--rollback")


def test_train_scorer_refuses_too_few_or_one_sided_decisions(moderator):
    decide(3, moderator)
    with pytest.raises(CommandError, match="3 labelled listings"):
        call_command("train_scorer", "--min-decisions", "10")
    assert not ScorerVersion.objects.exists()


def test_beat_task_retrains_only_when_enough_new_decisions(moderator, settings):
    settings.DETECTION = {**settings.DETECTION, "RETRAIN_MIN_NEW_DECISIONS": 6, "RETRAIN_MIN_DECISIONS": 4,
                          "RETRAIN_MIN_BACKTEST_DECIDED": 8}
    decide(4, moderator)
    assert retrain_scorer_if_due() is None  # 4 < 6 new decisions
    decide(4, moderator, start=4)
    assert retrain_scorer_if_due() == 1
    assert retrain_scorer_if_due() is None  # nothing new since v1
    v1 = ScorerVersion.objects.get()
    assert v1.last_decision_id > 0 and v1.is_active  # its backtest on the 8 decided listings held up
    backtest = Backtest.objects.get(scorer=v1)
    assert backtest.activated_at is not None and backtest.results["candidate"]["recall"] == 1.0
    assert AuditEvent.objects.filter(action="detection.change_activated").count() == 1


def test_beat_task_holds_a_retrain_its_backtest_cannot_vouch_for(moderator, settings):
    settings.DETECTION = {**settings.DETECTION, "RETRAIN_MIN_NEW_DECISIONS": 6, "RETRAIN_MIN_DECISIONS": 4,
                          "RETRAIN_MIN_BACKTEST_DECIDED": 50}
    decide(8, moderator)
    assert retrain_scorer_if_due() == 1
    candidate = ScorerVersion.objects.get()
    assert not candidate.is_active and active_scorer_version() is None  # the shipped scorer stays live
    held = AuditEvent.objects.get(action="detection.retrain_held")
    assert held.after["reasons"] == ["only 8 decided listings in 30 days (need 50)"]
    assert Backtest.objects.get(pk=held.after["backtest"]).activated_at is None  # a lead may still activate it
    assert retrain_scorer_if_due() is None  # the held candidate counts as trained: no retrain every 6 hours


def test_workers_pick_up_a_new_active_scorer_and_a_rollback(moderator, tmp_path):
    from PIL import Image

    from anticounterfeit.detection.detector_cache import get_detector
    from anticounterfeit.detection.models import BankVersion
    from ml.index import ReferenceIndex
    from ml.models import load_models
    from ml.types import BrandInfo, ReferenceInfo

    Image.new("RGB", (128, 128), (200, 30, 30)).save(tmp_path / "r.jpg")
    index = ReferenceIndex.build([BrandInfo("acme", "Acme", (), ())],
                                 [ReferenceInfo("r1", "acme", "Acme runner", "", 100.0, "USD", "product",
                                                (str(tmp_path / "r.jpg"),))], load_models())
    index.save(str(tmp_path / "bank"))
    decide(12, moderator)  # creates BankVersion 1 (a placeholder path) through the factory
    BankVersion.objects.filter(number=1).update(path=str(tmp_path / "bank"))
    before, _ = get_detector()
    assert before.scorer.version == load_scorer(None).version
    call_command("train_scorer", "--min-decisions", "10")
    v1 = active_scorer_version()
    after, _ = get_detector()
    assert after is not before and after.scorer.version == v1.version
    assert get_detector()[0] is after  # cached while nothing changes
    decide(6, moderator, start=12)
    call_command("train_scorer", "--min-decisions", "10")
    v2 = active_scorer_version()
    assert get_detector()[0].scorer.version == v2.version != v1.version
    call_command("train_scorer", "--rollback")
    assert get_detector()[0].scorer.version == v1.version
