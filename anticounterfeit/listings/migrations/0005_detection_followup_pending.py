# Detection.ocr_pending -> followup_pending: the flag covers the whole follow-up scan (OCR and the small-logo
# stage), not OCR alone. The partial index is rebuilt under the new name and condition.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('listings', '0004_detection_ocr_pending'),
    ]

    operations = [
        migrations.RemoveIndex(model_name='detection', name='detection_ocr_pending'),
        migrations.RenameField(model_name='detection', old_name='ocr_pending', new_name='followup_pending'),
        migrations.AddIndex(
            model_name='detection',
            index=models.Index(condition=models.Q(('followup_pending', True)), fields=['created_at'],
                               name='detection_followup_pending'),
        ),
    ]
