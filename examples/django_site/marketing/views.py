"""The marketing pages. The middleware records every page view and form; the goals in
goals.toml classify them; two decorators mark the newsletter and the paid signup."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST
from django.views.generic import FormView

from convsdk import annotate, cancel_conversion, track_macro, track_micro

PRICES = {"starter": 19.0, "team": 49.0}


class ContactForm(forms.Form):
    email = forms.EmailField()
    message = forms.CharField(max_length=2000)


class SignupForm(forms.Form):
    email = forms.EmailField()
    plan = forms.ChoiceField(choices=[(name, name.title()) for name in PRICES])


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "marketing/home.html")


def pricing(request: HttpRequest) -> HttpResponse:
    return render(request, "marketing/pricing.html", {"prices": PRICES})


def contact(request: HttpRequest) -> HttpResponse:
    """Post/Redirect/Get; the goal ``requested_demo`` (status 3xx) counts the redirects."""
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return redirect("contact-thanks")
    return render(request, "marketing/contact.html", {"form": form})


def contact_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "marketing/thanks.html")


@require_POST
@track_micro("newsletter", methods=("POST",))
def newsletter(request: HttpRequest) -> HttpResponse:
    """The footer's form, on every page: converts on its POST (not a form page)."""
    if request.POST.get("email", "").endswith("@example.invalid"):
        cancel_conversion()  # a test address subscribes nobody
    return redirect(request.POST.get("next") or "home")


@method_decorator(track_macro("signup", currency="EUR"), name="dispatch")
class SignupView(FormView):
    """GET shows the form, POST takes it: only a valid submission (a redirect) converts."""

    form_class = SignupForm
    template_name = "marketing/signup.html"

    def form_valid(self, form: SignupForm) -> HttpResponse:
        plan = form.cleaned_data["plan"]
        annotate(value=PRICES[plan], properties={"plan": plan})
        return redirect("welcome")


def welcome(request: HttpRequest) -> HttpResponse:
    return render(request, "marketing/welcome.html")
