"""Demo data for `manage.py seed_demo`: a small, realistic clinic.

Idempotent: every object is looked up by a natural key first and left alone when it exists, so a
second run changes nothing (tests/home/test_seed_demo.py compares whole-database dumps).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from io import BytesIO

from django.contrib.auth.hashers import make_password
from django.core.files.images import ImageFile
from django.db import transaction
from django.utils import timezone
from wagtail.images import get_image_model
from wagtail.models import Page, Site

from booking.notifications import notices_suppressed
from clinic_site.accounts.models import PatientProfile, User
from clinic_site.accounts.roles import Role
from clinic_site.accounts.services import user_set_role
from doctors.models import Doctor, Specialty
from doctors.services import doctor_create

from .demo_schedule import ensure_appointments, ensure_availability, ensure_exceptions
from .models import (
    ClinicDetails,
    DoctorIndexPage,
    DoctorPage,
    HomePage,
    NewsIndexPage,
    NewsPage,
    StandardPage,
)
from .portraits import make_portrait
from .services import doctor_page_ensure

DEMO_PASSWORD = "Demo-pass-2026!"  # noqa: S105 - documented demo password, demo data only

SPECIALTIES = [
    ("General Practice", "general-practice", "Everyday health, check-ups and referrals."),
    ("Cardiology", "cardiology", "Heart and blood vessel conditions."),
    ("Paediatrics", "paediatrics", "Care for babies, children and teenagers."),
    ("Dermatology", "dermatology", "Skin, hair and nail conditions."),
    ("Orthopaedics", "orthopaedics", "Bones, joints, muscles and sports injuries."),
    ("Women's Health", "womens-health", "Gynaecology, contraception and menopause care."),
]


@dataclass(frozen=True)
class DemoDoctor:
    email: str
    name: str
    slug: str
    specialties: tuple[str, ...]
    languages: str
    biography: str
    portrait_seed: str
    accepting: bool = True


DOCTORS = [
    DemoDoctor(
        "doctor@clinic.test",
        "Dr Amelia Hart",
        "amelia-hart",
        ("general-practice",),
        "English, French",
        "Amelia has been a family doctor for fifteen years. She looks after patients of every "
        "age and has a special interest in preventive care and long-term conditions.",
        "amelia-hart-16",
    ),
    DemoDoctor(
        "rahul.mehta@clinic.test",
        "Dr Rahul Mehta",
        "rahul-mehta",
        ("cardiology",),
        "English, Hindi, Gujarati",
        "Rahul is a consultant cardiologist. He sees patients with chest pain, palpitations and "
        "high blood pressure, and runs the clinic's heart-rhythm service.",
        "rahul-mehta-56",
    ),
    DemoDoctor(
        "sofia.alvarez@clinic.test",
        "Dr Sofia Álvarez",
        "sofia-alvarez",
        ("paediatrics",),
        "English, Spanish",
        "Sofia cares for children from birth to eighteen. Parents value her calm, unhurried "
        "visits and her clear advice on growth, sleep and common childhood illnesses.",
        "sofia-alvarez-7",
    ),
    DemoDoctor(
        "kwame.mensah@clinic.test",
        "Dr Kwame Mensah",
        "kwame-mensah",
        ("dermatology",),
        "English, Twi",
        "Kwame treats eczema, acne, psoriasis and skin changes that need a closer look, with "
        "particular experience in skin of colour.",
        "kwame-mensah-45",
    ),
    DemoDoctor(
        "hannah.okafor@clinic.test",
        "Dr Hannah Okafor",
        "hannah-okafor",
        ("orthopaedics",),
        "English, Igbo",
        "Hannah is a sports and joint specialist. She helps patients back to activity after "
        "injuries and manages arthritis of the knee, hip and shoulder.",
        "hannah-okafor-20",
    ),
    DemoDoctor(
        "mei.lin@clinic.test",
        "Dr Mei Lin",
        "mei-lin",
        ("womens-health", "general-practice"),
        "English, Mandarin",
        "Mei offers contraception advice, menopause care and cervical screening, alongside "
        "general practice for the whole family.",
        "mei-lin-32",
    ),
    DemoDoctor(
        "david.cohen@clinic.test",
        "Dr David Cohen",
        "david-cohen",
        ("cardiology", "general-practice"),
        "English, Hebrew",
        "David combines general practice with cardiology follow-up, helping patients manage "
        "cholesterol, blood pressure and recovery after heart treatment.",
        "david-cohen-91",
        accepting=False,
    ),
    DemoDoctor(
        "layla.haddad@clinic.test",
        "Dr Layla Haddad",
        "layla-haddad",
        ("paediatrics", "dermatology"),
        "English, Arabic",
        "Layla looks after children's skin: birthmarks, eczema and rashes, with gentle visits "
        "designed around young patients.",
        "layla-haddad-1",
    ),
]


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    role: Role
    phone: str = ""
    national_id: str | None = None


STAFF_AND_PATIENTS = [
    DemoUser("patient@clinic.test", "Olivia Bennett", Role.PATIENT, "+44 7700 900123", "QQ123456C"),
    DemoUser("patient2@clinic.test", "Marcus Reid", Role.PATIENT, "+44 7700 900456"),
    DemoUser("reception@clinic.test", "Priya Shah", Role.RECEPTIONIST, "+44 20 7946 0125"),
    DemoUser("admin@clinic.test", "Thomas Walker", Role.ADMIN, "+44 20 7946 0126"),
    DemoUser("editor@clinic.test", "Grace Kim", Role.EDITOR, "+44 20 7946 0127"),
]

PATIENT_PROFILES = {
    "patient@clinic.test": {
        "date_of_birth": dt.date(1988, 4, 12),
        "gender": "female",
        "address_line1": "14 Willow Lane",
        "postal_code": "SE1 7PB",
        "city": "London",
        "country": "GB",
        "nationality": "GB",
        "insurance_provider": "Harbour Health",
        "insurance_number": "HH-2048-5531",
        "emergency_contact_name": "James Bennett",
        "emergency_contact_phone": "+44 7700 900789",
        "emergency_contact_relationship": "Partner",
    },
    "patient2@clinic.test": {
        "date_of_birth": dt.date(1975, 11, 3),
        "gender": "male",
        "address_line1": "3 Canal Street",
        "address_line2": "Flat 2",
        "postal_code": "E8 4QS",
        "city": "London",
        "country": "GB",
        "nationality": "IE",
    },
}


@functools.cache
def demo_password_hash() -> str:
    """One hash of the demo password for every demo account (hashing is slow on purpose)."""
    return make_password(DEMO_PASSWORD)


def _ensure_user(spec: DemoUser) -> User:
    user = User.objects.filter(email=spec.email).first()
    if user is not None:
        return user
    now = timezone.now()
    user = User.objects.create(
        email=spec.email,
        password=demo_password_hash(),
        full_name=spec.full_name,
        phone=spec.phone,
        national_id=spec.national_id,
        email_verified_at=now,
        activated_at=now,
    )
    user_set_role(user=user, role=spec.role, actor=None)
    profile = PATIENT_PROFILES.get(spec.email)
    if profile is not None:
        PatientProfile.objects.create(user=user, **profile)
    return user


def _ensure_portrait(doctor: Doctor, seed: str, index: int):
    if doctor.photo_id:
        return doctor.photo
    image_model = get_image_model()
    title = f"Portrait of {doctor.name}"
    image = image_model.objects.filter(title=title).first()
    if image is None:
        png = make_portrait(seed, palette_index=index)
        image = image_model(title=title)
        image.file = ImageFile(BytesIO(png), name=f"portrait-{doctor.slug}.png")
        image.save()
    doctor.photo = image
    doctor.save(update_fields=["photo"])
    return image


def _rich(*paragraphs: str) -> list:
    return [("paragraph", "".join(f"<p>{p}</p>" for p in paragraphs))]


def _ensure_home_page() -> HomePage:
    home = HomePage.objects.first()
    if home is not None:
        return home
    root = Page.get_first_root_node()
    # Wagtail's starter page ("Welcome to your new Wagtail site!") makes way for ours.
    for starter in root.get_children().filter(
        content_type__model="page", content_type__app_label="wagtailcore"
    ):
        starter.delete()
    home = HomePage(
        title="Home",
        slug="home",
        hero_heading="Care that fits around your life",
        hero_text=(
            "See a family doctor or a specialist, in person or by video. Choose a time that "
            "suits you and book in a few clicks."
        ),
        hero_cta_label="Find a doctor",
        seo_title="Riverside Health Clinic — family doctors and specialists",
        search_description="Book family doctors and specialists online at Riverside Health Clinic.",
    )
    root.add_child(instance=home)
    home.save_revision().publish()
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Site.objects.create(
            hostname="localhost",
            port=80,
            root_page=home,
            is_default_site=True,
            site_name="Riverside Health Clinic",
        )
    else:
        site.root_page = home
        site.site_name = "Riverside Health Clinic"
        site.save()
    return home


def _ensure_child(parent: Page, model, slug: str, **fields) -> Page:
    existing = model.objects.child_of(parent).filter(slug=slug).first()
    if existing is not None:
        return existing
    page = model(slug=slug, **fields)
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


def _ensure_content_pages(home: HomePage) -> dict[str, Page]:
    pages: dict[str, Page] = {}
    pages["doctors"] = _ensure_child(
        home,
        DoctorIndexPage,
        "doctors",
        title="Our doctors",
        show_in_menus=True,
        intro="Family doctors and specialists who take the time to listen. Filter by "
        "specialty, read about each doctor and book online.",
    )
    pages["services"] = _ensure_child(
        home,
        StandardPage,
        "services",
        title="Services",
        show_in_menus=True,
        intro="From everyday health to specialist care, under one roof.",
        body=[
            ("heading", {"text": "Family medicine", "level": "h2"}),
            *_rich(
                "Check-ups, vaccinations, long-term conditions and the illnesses that cannot "
                "wait. Same-week appointments for most visits.",
            ),
            ("heading", {"text": "Specialist clinics", "level": "h2"}),
            *_rich(
                "Cardiology, paediatrics, dermatology, orthopaedics and women's health, with "
                "specialists who work closely with your family doctor.",
            ),
            (
                "info_cards",
                {
                    "heading": "Ways to see us",
                    "items": [
                        {
                            "icon": "stethoscope",
                            "title": "In person",
                            "text": "At the clinic, with step-free access.",
                        },
                        {
                            "icon": "video",
                            "title": "Video",
                            "text": "From home, on a phone or computer.",
                        },
                        {
                            "icon": "calendar",
                            "title": "Telephone",
                            "text": "We call you at the time you booked.",
                        },
                    ],
                },
            ),
        ],
    )
    pages["about"] = _ensure_child(
        home,
        StandardPage,
        "about",
        title="About us",
        show_in_menus=True,
        intro="An independent clinic serving the riverside community since 2009.",
        body=[
            *_rich(
                "Riverside Health Clinic brings family doctors and specialists together so that "
                "your care stays joined up. We keep visits unhurried, explain things clearly and "
                "make booking as simple as it should be.",
                "Our team of doctors, nurses and front-desk staff speaks more than ten languages.",
            ),
            (
                "quote",
                {
                    "quote": "Good care starts with time to listen.",
                    "attribution": "Dr Amelia Hart, clinical lead",
                },
            ),
        ],
    )
    pages["visiting"] = _ensure_child(
        home,
        StandardPage,
        "visiting",
        title="Visiting the clinic",
        show_in_menus=True,
        intro="Everything you need for your visit, in one place.",
        body=[
            ("heading", {"text": "Before your visit", "level": "h2"}),
            *_rich(
                "Please arrive ten minutes early and bring any medicines you take. If you cannot "
                "come, cancel online or call us so another patient can have the time.",
            ),
            ("heading", {"text": "Getting here", "level": "h2"}),
            *_rich(
                "We are five minutes' walk from Riverside station. The clinic has step-free "
                "access, a lift to every floor and a quiet room for anyone who needs it.",
            ),
        ],
    )
    pages["news"] = _ensure_child(
        home,
        NewsIndexPage,
        "news",
        title="News",
        show_in_menus=True,
        intro="Updates from the clinic: new services, seasonal advice and opening times.",
    )
    pages["privacy"] = _ensure_child(
        home,
        StandardPage,
        "privacy",
        title="Privacy",
        show_in_menus=False,
        intro="How we look after your information.",
        body=_rich(
            "Your medical information is read only by the clinicians who care for you. Front-desk "
            "staff see what they need to book and welcome you, never your medical notes. Every "
            "time a consultation record is opened, we log who opened it.",
        ),
    )
    articles = [
        (
            "flu-vaccinations",
            "Flu vaccinations are open",
            dt.date(2026, 10, 6),
            "Book your seasonal flu vaccination online; appointments take ten minutes.",
        ),
        (
            "video-visits",
            "Video visits with every doctor",
            dt.date(2026, 9, 15),
            "All of our doctors now offer video appointments for follow-ups and advice.",
        ),
        (
            "saturday-clinics",
            "Saturday morning clinics",
            dt.date(2026, 8, 2),
            "Family doctors are now available on Saturday mornings from 9:00 to 13:00.",
        ),
    ]
    for slug, title, date, intro in articles:
        _ensure_child(
            pages["news"],
            NewsPage,
            slug,
            title=title,
            date=date,
            intro=intro,
            body=_rich(intro, "Book online or call the front desk if you need help."),
        )
    return pages


def _home_body(pages: dict[str, Page], featured: list[Doctor]) -> list:
    return [
        (
            "services",
            {
                "heading": "Care for the whole family",
                "intro": "Family doctors and specialists working together, with online booking "
                "for every visit.",
                "services": [
                    {
                        "icon": "stethoscope",
                        "title": "Family medicine",
                        "text": "Check-ups, illness and long-term conditions for every age.",
                        "page": pages["services"],
                    },
                    {
                        "icon": "heart",
                        "title": "Heart health",
                        "text": "Blood pressure, palpitations and cardiology follow-up.",
                        "page": pages["services"],
                    },
                    {
                        "icon": "child",
                        "title": "Children's health",
                        "text": "Paediatric care from newborn checks to teenage years.",
                        "page": pages["services"],
                    },
                    {
                        "icon": "skin",
                        "title": "Skin clinic",
                        "text": "Eczema, acne, moles and rashes, seen by a dermatologist.",
                        "page": pages["services"],
                    },
                    {
                        "icon": "bone",
                        "title": "Joints and sports injuries",
                        "text": "Back to moving well, with an orthopaedic specialist.",
                        "page": pages["services"],
                    },
                    {
                        "icon": "video",
                        "title": "Video visits",
                        "text": "Follow-ups and advice from home, with every doctor.",
                        "page": pages["services"],
                    },
                ],
            },
        ),
        (
            "featured_doctors",
            {
                "heading": "Meet some of our doctors",
                "intro": "Experienced, approachable and never in a rush.",
                "doctors": featured,
            },
        ),
        (
            "info_cards",
            {
                "heading": "Booking takes a minute",
                "items": [
                    {
                        "icon": "search",
                        "title": "1. Choose a doctor",
                        "text": "Filter by specialty and read each doctor's profile.",
                    },
                    {
                        "icon": "calendar",
                        "title": "2. Pick a time",
                        "text": "See every free time, day by day, and choose one.",
                    },
                    {
                        "icon": "check-circle",
                        "title": "3. You're booked",
                        "text": "We confirm by e-mail and remind you the day before.",
                    },
                ],
            },
        ),
        (
            "testimonials",
            {
                "heading": "What our patients say",
                "testimonials": [
                    {
                        "quote": "Booking took two minutes and Dr Hart explained everything "
                        "clearly. "
                        "I left knowing exactly what to do next.",
                        "name": "Sarah T.",
                        "detail": "Patient since 2019",
                    },
                    {
                        "quote": "The video visit saved me half a day off work, "
                        "and the follow-up was just as easy.",
                        "name": "Daniel O.",
                        "detail": "Cardiology patient",
                    },
                    {
                        "quote": "Dr Álvarez is wonderful with our two boys. "
                        "The front desk always finds us a slot.",
                        "name": "Aisha and Ben",
                        "detail": "Parents",
                    },
                ],
            },
        ),
        ("latest_news", {"heading": "News from the clinic", "count": 3}),
        (
            "call_to_action",
            {
                "heading": "New to the clinic?",
                "text": "Create your account in two minutes and book your first visit online.",
                "button_label": "Find a doctor",
                "page": pages["doctors"],
                "url": "",
            },
        ),
    ]


@transaction.atomic
def seed_demo(stdout=None) -> None:
    def say(message: str) -> None:
        if stdout is not None:
            stdout.write(message)

    details = ClinicDetails.load()
    if details.name == ClinicDetails._meta.get_field("name").default and not details.phone:
        details.name = "Riverside Health Clinic"
        details.tagline = "Family doctors and specialists in the heart of the city"
        details.phone = "+44 20 7946 0123"
        details.email = "hello@riverside-clinic.test"
        details.address = "12 Riverside Walk\nLondon SE1 9RT\nUnited Kingdom"
        details.opening_hours = "Monday to Friday 08:00–19:00\nSaturday 09:00–13:00\nSunday closed"
        details.emergency_note = (
            "In an emergency, call 999 or go to the nearest emergency department."
        )
        details.save()

    for spec in STAFF_AND_PATIENTS:
        _ensure_user(spec)
    say(f"Users: {', '.join(s.email for s in STAFF_AND_PATIENTS)}")

    specialties = {}
    for name, slug, description in SPECIALTIES:
        specialties[slug], _ = Specialty.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description}
        )

    home = _ensure_home_page()
    pages = _ensure_content_pages(home)

    doctors = []
    for index, spec in enumerate(DOCTORS):
        doctor = Doctor.objects.filter(slug=spec.slug).first()
        if doctor is None:
            user = _ensure_user(DemoUser(spec.email, spec.name.removeprefix("Dr "), Role.DOCTOR))
            doctor = doctor_create(
                name=spec.name,
                slug=spec.slug,
                user=user,
                specialties=[specialties[s] for s in spec.specialties],
                biography=spec.biography,
                languages=spec.languages,
                accepting_new_patients=spec.accepting,
                phone="+44 20 7946 0123",
                date_joined=dt.date(2010 + index * 2 % 13, 1 + index, 1),
            )
        # Seeds chosen so each generated portrait suits the demo doctor it illustrates.
        _ensure_portrait(doctor, spec.portrait_seed, index)
        page = DoctorPage.objects.filter(doctor=doctor).first() or doctor_page_ensure(doctor=doctor)
        if not page.body:
            page.body = [
                (
                    "heading",
                    {"text": "Visits with " + spec.name.removeprefix("Dr "), "level": "h2"},
                ),
                *_rich(
                    "Visits are unhurried: there is time to talk through your questions, agree "
                    "a plan together and know what happens next.",
                    "Video and telephone appointments are available for follow-ups and advice.",
                ),
                (
                    "quote",
                    {
                        "quote": "I want every patient to leave knowing what happens next.",
                        "attribution": spec.name,
                    },
                ),
            ]
            names = ", ".join(specialties[s].name for s in spec.specialties)
            page.search_description = f"{spec.name}, {names}, at Riverside Health Clinic."
            page.save_revision().publish()
        doctors.append(doctor)
    say(f"Doctors: {len(doctors)} with pages and portraits")

    for doctor in doctors:
        ensure_availability(doctor)
    now = timezone.now()
    ensure_exceptions(doctors, timezone.localdate(now))
    with notices_suppressed():  # demo history: nobody is told about visits that never were
        booked = ensure_appointments(doctors, demo_password_hash(), now=now)
    say(f"Schedules: visit types, weekly hours and exceptions; {booked} appointments added")

    if not home.body:
        home.hero_cta_page = pages["doctors"]
        home.body = _home_body(pages, doctors[:4])
        home.save_revision().publish()
    say("Pages: home, doctors directory, services, about, visiting, news, privacy")
