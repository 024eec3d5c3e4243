"""The marketing pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("pricing/", views.pricing, name="pricing"),
    path("contact/", views.contact, name="contact"),
    path("contact/thanks/", views.contact_thanks, name="contact-thanks"),
    path("newsletter/", views.newsletter, name="newsletter"),
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("welcome/", views.welcome, name="welcome"),
]
