"""The site's URLs: the marketing pages."""

from django.urls import include, path

urlpatterns = [path("", include("marketing.urls"))]
