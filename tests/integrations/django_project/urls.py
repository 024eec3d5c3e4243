"""The test project's URLs."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home),
    path("pricing/", views.pricing),
    path("api/ping", views.ping),
    path("contact/", views.contact),
    path("contact/thanks/", views.thanks),
    path("quote/", views.quote),
    path("subscribe/", views.subscribe),
    path("brochure/", views.brochure),
    path("signup/", views.SignupView.as_view()),
    path("demo/", views.DemoView.as_view()),
    path("newsletter/", views.NewsletterView.as_view()),
    path("checkout/", views.checkout),
    path("invite/", views.invite),
    path("upload/", views.upload),
    path("async/", views.async_page),
    path("static/site.css", views.stylesheet),
    path("broken/", views.broken),
    path("tagged/", views.tagged),
    path("callback/", views.callback),
]
