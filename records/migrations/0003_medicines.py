"""Seed the medicine catalogue with common medicines (generic names and usual strengths) so that
prescribing has suggestions from the start; administrators keep it up to date afterwards."""

from django.db import migrations

# (name, form, strength, default dose, default frequency)
MEDICINES = [
    ("Paracetamol", "tablet", "500 mg", "1-2 tablets", "every 4-6 hours, at most 4 times a day"),
    ("Ibuprofen", "tablet", "400 mg", "1 tablet", "three times a day with food"),
    ("Naproxen", "tablet", "250 mg", "1 tablet", "twice a day with food"),
    ("Aspirin", "tablet", "75 mg", "1 tablet", "once a day"),
    ("Amoxicillin", "capsule", "500 mg", "1 capsule", "three times a day"),
    ("Co-amoxiclav", "tablet", "625 mg", "1 tablet", "three times a day"),
    ("Azithromycin", "tablet", "500 mg", "1 tablet", "once a day"),
    ("Clarithromycin", "tablet", "500 mg", "1 tablet", "twice a day"),
    ("Doxycycline", "capsule", "100 mg", "1 capsule", "once a day"),
    ("Ciprofloxacin", "tablet", "500 mg", "1 tablet", "twice a day"),
    ("Nitrofurantoin", "capsule", "100 mg", "1 capsule", "twice a day"),
    ("Metronidazole", "tablet", "400 mg", "1 tablet", "three times a day"),
    ("Cetirizine", "tablet", "10 mg", "1 tablet", "once a day"),
    ("Loratadine", "tablet", "10 mg", "1 tablet", "once a day"),
    ("Omeprazole", "capsule", "20 mg", "1 capsule", "once a day before breakfast"),
    ("Lansoprazole", "capsule", "30 mg", "1 capsule", "once a day before breakfast"),
    ("Metformin", "tablet", "500 mg", "1 tablet", "twice a day with meals"),
    ("Amlodipine", "tablet", "5 mg", "1 tablet", "once a day"),
    ("Ramipril", "capsule", "5 mg", "1 capsule", "once a day"),
    ("Losartan", "tablet", "50 mg", "1 tablet", "once a day"),
    ("Bisoprolol", "tablet", "5 mg", "1 tablet", "once a day"),
    ("Atorvastatin", "tablet", "20 mg", "1 tablet", "once a day"),
    ("Simvastatin", "tablet", "40 mg", "1 tablet", "once a day at night"),
    ("Levothyroxine", "tablet", "50 micrograms", "1 tablet", "once a day before breakfast"),
    ("Salbutamol", "inhaler", "100 micrograms per dose", "1-2 puffs", "when needed"),
    ("Beclometasone", "inhaler", "100 micrograms per dose", "2 puffs", "twice a day"),
    ("Prednisolone", "tablet", "5 mg", "as directed", "once a day in the morning"),
    ("Sertraline", "tablet", "50 mg", "1 tablet", "once a day"),
    ("Citalopram", "tablet", "20 mg", "1 tablet", "once a day"),
    ("Hydrocortisone", "cream", "1%", "a thin layer", "twice a day"),
    ("Chloramphenicol", "drops", "0.5%", "1 drop in the affected eye", "every 2 hours for 2 days"),
    (
        "Oral rehydration salts",
        "other",
        "1 sachet",
        "1 sachet in 200 ml water",
        "after each loose stool",
    ),
]


def seed(apps, schema_editor):
    Medicine = apps.get_model("records", "Medicine")
    existing = {name.lower() for name in Medicine.objects.values_list("name", flat=True)}
    Medicine.objects.bulk_create(
        Medicine(
            name=name,
            form=form,
            strength=strength,
            default_dose=dose,
            default_frequency=frequency,
        )
        for name, form, strength, dose, frequency in MEDICINES
        if name.lower() not in existing
    )


def unseed(apps, schema_editor):
    Medicine = apps.get_model("records", "Medicine")
    Medicine.objects.filter(name__in=[row[0] for row in MEDICINES]).delete()


class Migration(migrations.Migration):
    dependencies = [("records", "0002_record_details")]

    operations = [migrations.RunPython(seed, unseed)]
