"""Settings of the Fernhill marketing site, with convsdk recording its conversions."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "fernhill-dev-only-secret-key")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "site_project.urls"
WSGI_APPLICATION = "site_project.wsgi.application"

INSTALLED_APPS = [
    "convsdk.integrations.django",  # {% convsdk_script %}, checks, convsdk_report
    "marketing",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "convsdk.integrations.django.ConversionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES: dict[str, dict[str, str]] = {}  # a marketing site: no database of its own
USE_TZ = True

# convsdk: the same names as its environment variables. A key of its own signs the
# visitor cookies (Django's SECRET_KEY is never used for them).
CONVSDK_BACKEND = os.environ.get("CONVSDK_BACKEND", f"sqlite:///{BASE_DIR / 'convsdk.db'}")
CONVSDK_GOALS = BASE_DIR / "goals.toml"
CONVSDK_SECRET_KEY = os.environ.get("CONVSDK_SECRET_KEY", "fernhill-dev-only-convsdk-key")
CONVSDK_SPOOL_DIR = os.environ.get("CONVSDK_SPOOL_DIR", str(BASE_DIR / ".convsdk-spool"))
CONVSDK_CAPTURE_FIELDS = ["plan"]
