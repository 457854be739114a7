"""Brand portal forms. Every brand choice is limited to the brands the user may manage."""
import json
import zipfile

from django import forms
from django.conf import settings

from anticounterfeit.listings.models import Listing
from anticounterfeit.moderation.models import TAKEDOWN_REASONS, ReasonCode

from .models import Brand, ReferenceItem

LIST_HELP = "One per line."


def lines(value: str) -> list[str]:
    return [v.strip() for v in value.replace(",", "\n").splitlines() if v.strip()]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input, as a list; what each may hold is checked by the action that stores them."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if self.required and not files:
            raise forms.ValidationError(self.error_messages["required"])
        return files


class MultipleImageField(forms.FileField):
    """Several files in one input; each is checked for size here and decoded by the import itself."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        limit = settings.UPLOAD_LIMITS["MAX_IMAGE_BYTES"]
        for f in files:
            if f.size > limit:
                raise forms.ValidationError(f"{f.name}: larger than {limit // (1024 * 1024)} MB")
        if self.required and not files:
            raise forms.ValidationError("Add at least one image.")
        return files


class BrandScopedForm(forms.Form):
    brand = forms.ModelChoiceField(queryset=Brand.objects.none(), empty_label=None)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = Brand.objects.visible_to(user)


class ProfileForm(forms.Form):
    name = forms.CharField(max_length=120)
    aliases = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text=LIST_HELP)
    protected_terms = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                      help_text="Words counterfeiters misuse. " + LIST_HELP)
    trademark_numbers = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                        help_text="Trademark registration numbers. " + LIST_HELP)
    contact_name = forms.CharField(required=False, max_length=120, label="Contact for notices")
    contact_email = forms.EmailField(required=False)

    @classmethod
    def initial_for(cls, brand: Brand) -> dict:
        return {"name": brand.name, "aliases": "\n".join(brand.aliases), "protected_terms": "\n".join(brand.protected_terms),
                "trademark_numbers": "\n".join(brand.trademark_numbers), "contact_name": brand.contact_name,
                "contact_email": brand.contact_email}

    def cleaned_lists(self) -> dict:
        data = dict(self.cleaned_data)
        for key in ("aliases", "protected_terms", "trademark_numbers"):
            data[key] = lines(data[key])[:200]
        return data


class ZipUploadForm(BrandScopedForm):
    bundle = forms.FileField(help_text="A ZIP of a bundle folder: brands.jsonl, catalog.jsonl, images/…")

    def clean_bundle(self):
        """Only the container is checked here; members are validated by ``ml.bundle`` in the worker."""
        upload = self.cleaned_data["bundle"]
        limit = settings.UPLOAD_LIMITS.get("MAX_BUNDLE_BYTES", 1024**3)
        if upload.size > limit:
            raise forms.ValidationError(f"larger than {limit // 1024**2} MB")
        if not zipfile.is_zipfile(upload):
            raise forms.ValidationError("not a ZIP file")
        upload.seek(0)
        return upload


class FolderUploadForm(BrandScopedForm):
    """A picked bundle folder. The page's script sends each file's path inside the folder in ``paths`` (JSON, in
    the files' order) because multipart keeps only the base name; members are checked by the upload action."""

    files = MultipleFileField(label="Folder", widget=MultipleFileInput(attrs={"webkitdirectory": True, "directory": True}),
                              help_text="The bundle folder itself: brands.jsonl, catalog.jsonl, images/…",
                              error_messages={"required": "Pick a folder."})
    paths = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        files = data.get("files")
        if not files:
            return data
        try:
            paths = json.loads(data.get("paths") or "null")
        except ValueError:
            paths = None
        if not isinstance(paths, list) or len(paths) != len(files) or not all(isinstance(p, str) for p in paths):
            raise forms.ValidationError("The folder's file paths did not arrive (the page needs JavaScript for a "
                                        "folder upload); upload a ZIP of the folder instead.")
        data["files"] = list(zip(paths, files, strict=True))
        return data


class CsvUploadForm(BrandScopedForm):
    catalog = forms.FileField(label="CSV", help_text="Columns: ref_id, title, description, msrp, currency, kind "
                                                     "(product or logo), images (file names separated by ;)")
    images = MultipleImageField(required=False)


class ReferenceForm(BrandScopedForm):
    ref_key = forms.SlugField(max_length=64, label="Reference id")
    title = forms.CharField(max_length=300)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000)
    kind = forms.ChoiceField(choices=ReferenceItem.Kind.choices)
    msrp = forms.DecimalField(required=False, min_value=0, max_value=10_000_000, decimal_places=2, label="MSRP")
    currency = forms.RegexField(regex=r"^[A-Z]{3}$", initial="USD", max_length=3)
    images = MultipleImageField(required=False, help_text="Several images per product; leave empty to keep the current ones.")


class AuthorizedSellersForm(BrandScopedForm):
    seller_ids = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Add seller ids",
                                 help_text=LIST_HELP)
    csv = forms.FileField(required=False, label="…or a CSV with a seller_id column")


class ReportForm(forms.Form):
    reason_code = forms.ChoiceField(choices=[(c.value, c.label) for c in ReasonCode if c in TAKEDOWN_REASONS])
    note = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                           help_text="Why this is counterfeit: what differs from your genuine product.")
    reference = forms.ModelChoiceField(queryset=ReferenceItem.objects.none(), required=False,
                                       label="Your genuine reference")

    def __init__(self, *args, brand: Brand, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reference"].queryset = ReferenceItem.objects.filter(brand=brand)


class MatchFilterForm(forms.Form):
    brand = forms.ModelChoiceField(queryset=Brand.objects.none(), required=False, empty_label="All brands")
    status = forms.ChoiceField(required=False)
    min_score = forms.FloatField(required=False, min_value=0, max_value=1, label="Min score")
    q = forms.CharField(required=False, label="Search")

    def __init__(self, *args, user, **kwargs):

        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = Brand.objects.visible_to(user)
        self.fields["status"].choices = [("", "Any status")] + [
            c for c in Listing.Status.choices if c[0] != Listing.Status.PENDING]
