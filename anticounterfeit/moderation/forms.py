from django import forms

from .models import DISMISS_REASONS, TAKEDOWN_REASONS, Decision, ReasonCode


class DecisionForm(forms.Form):
    action = forms.ChoiceField(choices=Decision.Action.choices)
    reason_code = forms.ChoiceField(choices=ReasonCode.choices, required=False)
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        action, reason = data.get("action"), data.get("reason_code")
        if action == Decision.Action.TAKEDOWN and reason not in TAKEDOWN_REASONS:
            self.add_error("reason_code", "Choose a takedown reason.")
        if action == Decision.Action.DISMISS and reason not in DISMISS_REASONS:
            self.add_error("reason_code", "Choose a dismissal reason.")
        return data


class QueueFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    brand = forms.IntegerField(required=False)
    min_score = forms.FloatField(required=False, min_value=0, max_value=1)
    state = forms.ChoiceField(required=False, choices=[("open", "Open"), ("escalated", "Escalated"), ("mine", "Mine"),
                                                      ("unassigned", "Unassigned")])
