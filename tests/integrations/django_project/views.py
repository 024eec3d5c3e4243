"""Views of the test project: pages, a Post/Redirect/Get form, class-based views."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View

from convsdk import annotate, cancel_conversion, track_macro, track_micro

PAGE = "<!doctype html><title>{title}</title><h1>{title}</h1>"

#: What the upload view saw, for the tests to check.
seen: dict[str, object] = {}


def _form(request: HttpRequest, error: str = "") -> HttpResponse:
    token = get_token(request)
    body = (
        f"<form method=post><input type=hidden name=csrfmiddlewaretoken value={token}>"
        f"{error}</form>"
    )
    return HttpResponse(PAGE.format(title="Form") + body)


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.format(title="Welcome"))


def pricing(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.format(title="Pricing"))


def ping(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def contact(request: HttpRequest) -> HttpResponse:
    """Post/Redirect/Get: a valid message redirects, an invalid one shows the form again."""
    if request.method == "POST":
        if request.POST.get("email"):
            return HttpResponseRedirect("/contact/thanks/")
        return _form(request, "an email, please")
    return _form(request)


def thanks(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.format(title="Thanks"))


@track_micro("quote_requested")
def quote(request: HttpRequest) -> HttpResponse:
    """The same form as contact, with a decorator (function view: GET and POST)."""
    return contact(request)


@track_micro("subscribed", methods=("POST",), status="2xx")
def subscribe(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@track_micro("brochure_viewed", methods=("GET",))
def brochure(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.format(title="Brochure"))


@method_decorator(track_macro("signup"), name="dispatch")
class SignupView(View):
    """A form page: shows the form on GET, takes it on POST (converts on the submission)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return _form(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        if request.POST.get("username"):
            return HttpResponseRedirect("/")
        return _form(request, "a name, please")


class DemoView(View):
    """A view decorating its own dispatch."""

    @track_macro("demo_booked")
    def dispatch(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        response: HttpResponse = super().dispatch(request, *args, **kwargs)
        return response

    def get(self, request: HttpRequest) -> HttpResponse:
        return _form(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        return HttpResponseRedirect("/")


@method_decorator(track_micro("newsletter"), name="post")
class NewsletterView(View):
    """Takes submissions only: converts on them, status below 400."""

    def post(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(PAGE.format(title="Subscribed"))


@track_macro("purchase", currency="EUR", methods=("POST",))
def checkout(request: HttpRequest) -> HttpResponse:
    annotate(value=float(request.POST["total"]), transaction_id="order-7")
    return HttpResponseRedirect("/")


@track_micro("invited", methods=("POST",))
def invite(request: HttpRequest) -> HttpResponse:
    if request.POST.get("email", "").endswith("@example.test"):
        cancel_conversion()
    return HttpResponseRedirect("/")


def upload(request: HttpRequest) -> HttpResponse:
    seen["post"] = dict(request.POST.items())
    seen["files"] = {name: f.read() for name, f in request.FILES.items()}
    return HttpResponseRedirect("/")


async def async_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.format(title="Async"))


def stylesheet(request: HttpRequest) -> HttpResponse:
    return HttpResponse("body {}", content_type="text/css")


def broken(request: HttpRequest) -> HttpResponse:
    return HttpResponse(json.dumps({"error": "no"}), status=500, content_type="text/html")


def tagged(request: HttpRequest) -> HttpResponse:
    return render(request, "tagged.html")


@track_micro("callback_requested")
async def callback(request: HttpRequest) -> HttpResponse:
    """An async function view with a decorator: a form page, like quote."""
    if request.method == "POST":
        return HttpResponseRedirect("/")
    return HttpResponse(PAGE.format(title="Call me back"))
