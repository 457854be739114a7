from django import forms


class RestrictionDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("restrict", "Restrict the seller"), ("decline", "Do not restrict"),
                                          ("lift", "Lift the restriction")])
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
