from django import forms

from anticounterfeit.catalog.models import Brand
from anticounterfeit.detection.models import AllowRule

from .models import DISMISS_REASONS, TAKEDOWN_REASONS, Decision, ReasonCode


def check_reason(form: forms.Form, action: str | None, reason: str | None) -> None:
    """A takedown needs a takedown reason and a dismissal a dismissal reason (one rule for single and bulk)."""
    if action == Decision.Action.TAKEDOWN and reason not in TAKEDOWN_REASONS:
        form.add_error("reason_code", "Choose a takedown reason.")
    if action == Decision.Action.DISMISS and reason not in DISMISS_REASONS:
        form.add_error("reason_code", "Choose a dismissal reason.")


class DecisionForm(forms.Form):
    action = forms.ChoiceField(choices=Decision.Action.choices)
    reason_code = forms.ChoiceField(choices=ReasonCode.choices, required=False)
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    allow = forms.ChoiceField(choices=[("", "No allow rule"), *AllowRule.Scope.choices], required=False)  # dismiss only

    def clean(self):
        data = super().clean()
        check_reason(self, data.get("action"), data.get("reason_code"))
        if data.get("action") != Decision.Action.DISMISS:
            data["allow"] = ""
        return data


class BulkForm(forms.Form):
    scope = forms.ChoiceField(choices=[("seller", "Same seller"), ("image", "Sharing these images")])
    action = forms.ChoiceField(choices=[(Decision.Action.TAKEDOWN, "Take down"), (Decision.Action.DISMISS, "Dismiss")])
    reason_code = forms.ChoiceField(choices=ReasonCode.choices, required=False)
    note = forms.CharField(required=False, max_length=2000)
    ids = forms.CharField(required=False)  # the exact cases the confirmation showed, comma-separated

    def clean_ids(self) -> list[int]:
        raw = self.cleaned_data.get("ids") or ""
        try:
            return [int(x) for x in raw.split(",") if x.strip()]
        except ValueError:
            raise forms.ValidationError("Malformed case list.") from None

    def clean(self):
        data = super().clean()
        if self.data.get("confirm"):
            check_reason(self, data.get("action"), data.get("reason_code"))
        return data


class AppealDecisionForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("uphold", "Uphold the takedown"), ("reinstate", "Reinstate the listing")])
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class PolicyForm(forms.Form):
    review_threshold = forms.FloatField(min_value=0.01, max_value=0.99)
    high_priority_threshold = forms.FloatField(min_value=0.01, max_value=1.0)

    def clean(self):
        data = super().clean()
        review, high = data.get("review_threshold"), data.get("high_priority_threshold")
        if review is not None and high is not None and high < review:
            self.add_error("high_priority_threshold", "Must be at least the review threshold.")
        return data


class BrandThresholdForm(forms.Form):
    brand = forms.ModelChoiceField(queryset=Brand.objects.order_by("name"), to_field_name="brand_key")
    review_threshold = forms.FloatField(min_value=0.01, max_value=0.99, required=False)  # empty = use the global one


class QuarantineForm(forms.Form):
    quarantined = forms.TypedChoiceField(choices=[("1", "quarantine"), ("0", "unquarantine")],
                                         coerce=lambda v: v == "1")


class BacktestForm(forms.Form):
    """A candidate change to replay: a stored or uploaded scorer, the global threshold, or one brand's threshold."""

    kind = forms.ChoiceField(choices=[("scorer", "New scorer version"), ("global_threshold", "Global review threshold"),
                                      ("brand_threshold", "Brand review threshold")])
    scorer = forms.IntegerField(required=False, min_value=1, help_text="a stored version number")
    scorer_file = forms.FileField(required=False, help_text="or upload a scorer JSON document")
    threshold = forms.FloatField(required=False, min_value=0.01, max_value=0.99)
    brand = forms.ModelChoiceField(queryset=Brand.objects.order_by("name"), to_field_name="brand_key", required=False)
    days = forms.IntegerField(min_value=1, max_value=365, initial=30)


class OverrideForm(forms.Form):
    """Activating a change without a backtest: a lead must say why (audited)."""

    backtest = forms.IntegerField(required=False, widget=forms.HiddenInput)
    override_reason = forms.CharField(required=False, max_length=500)
