from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0005_appointment_idempotency_key"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="appointment",
            index=models.Index(fields=["start", "id"], name="booking_appt_start_id"),
        ),
    ]
