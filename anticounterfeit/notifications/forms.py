from django import forms
from django.conf import settings

from ml.images import ImageError, load_image

from .webhook_guard import UnsafeWebhookURL, check_url


class AppealForm(forms.Form):
    statement = forms.CharField(min_length=20, max_length=5000, widget=forms.Textarea(attrs={"rows": 5}),
                                help_text="Explain why the item is genuine or authorized.")
    evidence = forms.FileField(required=False, help_text="Invoice or authorization letter (JPEG, PNG or PDF, up to 10 MB).")

    def clean_evidence(self):
        evidence = self.cleaned_data.get("evidence")
        if not evidence:
            return evidence
        if evidence.size > settings.UPLOAD_LIMITS["MAX_IMAGE_BYTES"]:
            raise forms.ValidationError("The file is larger than 10 MB.")
        head = evidence.read(8)
        evidence.seek(0)
        if head.startswith(b"%PDF"):
            return evidence

        try:
            load_image(evidence.read())
        except ImageError as exc:
            raise forms.ValidationError(f"evidence '{evidence.name}': {exc}") from exc
        evidence.seek(0)
        return evidence


class WebhookUrlForm(forms.Form):
    webhook_url = forms.URLField(required=False, max_length=200, assume_scheme="https", label="Webhook URL",
                                 help_text="Decisions are POSTed here, signed with the secret below. Empty turns them off.")

    def clean_webhook_url(self) -> str:
        """No server-side request forgery: https to a public host (see notifications.webhook_guard)."""

        url = self.cleaned_data["webhook_url"]
        if url:
            try:
                check_url(url)
            except UnsafeWebhookURL as exc:
                raise forms.ValidationError(f"webhook_url: {exc}") from exc
        return url
