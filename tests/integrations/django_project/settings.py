"""Settings of the test project: no database, the middleware high in the chain."""

from pathlib import Path

SECRET_KEY = "django-only-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
ROOT_URLCONF = "django_project.urls"
INSTALLED_APPS = ["convsdk.integrations.django"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "convsdk.integrations.django.ConversionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
DATABASES: dict[str, object] = {}
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).parent / "templates"],
        "APP_DIRS": True,
    }
]
USE_TZ = True
# Only the cookies' key: the tests' own tracker (memory) is the default tracker.
CONVSDK_SECRET_KEY = "convsdk-test-key"
