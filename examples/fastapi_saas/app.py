"""Ledgerly, invoicing for freelancers: a FastAPI signup site tracked with convsdk.

The journey marketers care about: pricing → free trial → onboarding → paid plan.

    pip install 'convsdk[fastapi]' uvicorn python-multipart
    CONVSDK_SECRET_KEY=change-me uvicorn --factory app:create_app

- the ASGI middleware records every page view and form post; ``goals.toml`` turns the
  pricing view and the onboarding steps into micro conversions;
- ``@track_micro("trial_started")`` (an ``async def`` view) and
  ``@track_macro("paid_signup")`` (a plain ``def`` view, run in the thread pool) record
  what only the views know: the new user's id, the plan, the price;
- ``Depends(current_user)`` keeps working under the decorators, and a request without a
  user answers 401, which records nothing.
"""

# No "from __future__ import annotations": FastAPI reads the views' annotations at
# run time, and CurrentUser is local to create_app.
import os
import secrets
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

import convsdk
from convsdk import annotate, track_macro, track_micro
from convsdk.integrations.asgi import ConversionMiddleware

GOALS_FILE = Path(__file__).with_name("goals.toml")
USER_COOKIE = "ledgerly_uid"

#: Monthly price of each plan, in USD.
PLANS = {"starter": 12.0, "pro": 29.0, "team": 79.0}
ONBOARDING_STEPS = ("profile", "connect_bank", "first_invoice")
ONBOARDING_FIELDS = {
    "profile": '<input name="business_name" placeholder="Business name" required>',
    "connect_bank": '<input name="bank" placeholder="Your bank" required>',
    "first_invoice": '<input name="amount" type="number" min="1" placeholder="Amount" required>',
}


@dataclass
class User:
    """A Ledgerly account (kept in memory: this is an example)."""

    id: str
    email: str
    plan: str
    steps_done: list[str] = field(default_factory=list)
    paid: bool = False


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} · Ledgerly</title></head>
<body><header><a href="/">Ledgerly</a> <a href="/pricing">Pricing</a></header>
<main>{body}</main></body></html>"""
    )


def create_app(tracker: convsdk.Tracker | None = None) -> FastAPI:
    """The site, tracked by ``tracker`` or by a new default tracker built from the environment.

    ``CONVSDK_BACKEND`` picks where events go (``sqlite:///ledgerly-events.db`` by
    default); ``CONVSDK_SECRET_KEY`` signs the visitor and session cookies. The
    decorators record through the default tracker, so a given ``tracker`` should be it.
    """
    if tracker is None:
        tracker = convsdk.init(
            backend=os.environ.get("CONVSDK_BACKEND", "sqlite:///ledgerly-events.db"),
            goals=GOALS_FILE,
            secret_key=os.environ.get("CONVSDK_SECRET_KEY"),
        )
    app = FastAPI(title="Ledgerly")
    app.add_middleware(ConversionMiddleware, tracker=tracker)
    users: dict[str, User] = {}
    app.state.users = users

    def current_user(request: Request) -> User:
        user = users.get(request.cookies.get(USER_COOKIE, ""))
        if user is None:
            raise HTTPException(status_code=401, detail="Start a free trial first.")
        # Every event of a signed-in request carries the app's own user id.
        annotate(user_id=user.id)
        return user

    CurrentUser = Annotated[User, Depends(current_user)]

    @app.get("/", response_class=HTMLResponse)
    def home() -> HTMLResponse:
        return _page(
            "Invoicing for freelancers",
            """<h1>Send an invoice in 30 seconds. Get paid in 3 days.</h1>
<p><a href="/pricing">See plans</a></p>""",
        )

    @app.get("/pricing", response_class=HTMLResponse)
    def pricing() -> HTMLResponse:
        plans = "".join(
            f"<li>{name.title()}: ${price:.0f}/month</li>" for name, price in PLANS.items()
        )
        return _page(
            "Pricing",
            f"""<h1>Pricing</h1><ul>{plans}</ul>
<form method="post" action="/trial">
 <label>Email <input type="email" name="email" required></label>
 <select name="plan">{"".join(f"<option>{p}</option>" for p in PLANS)}</select>
 <button>Start a 14-day free trial</button>
</form>""",
        )

    @app.post("/trial")
    @track_micro("trial_started")
    async def start_trial(
        email: Annotated[str, Form()], plan: Annotated[str, Form()] = "pro"
    ) -> RedirectResponse:
        if plan not in PLANS:
            raise HTTPException(status_code=422, detail=f"Unknown plan {plan!r}.")
        user = User(id=f"u_{secrets.token_hex(6)}", email=email, plan=plan)
        users[user.id] = user
        # The email stays in the app; the event carries only the opaque user id.
        annotate(user_id=user.id, properties={"plan": plan})
        response = RedirectResponse("/onboarding", status_code=303)
        response.set_cookie(USER_COOKIE, user.id, httponly=True, samesite="lax")
        return response

    @app.get("/onboarding", response_class=HTMLResponse)
    def onboarding(user: CurrentUser) -> HTMLResponse:
        steps = "".join(
            f'<form method="post" action="/onboarding/{step}">{ONBOARDING_FIELDS[step]}'
            f"<button>{'✓ ' if step in user.steps_done else ''}"
            f"{step.replace('_', ' ').capitalize()}</button></form>"
            for step in ONBOARDING_STEPS
        )
        plans = "".join(f"<option>{p}</option>" for p in PLANS)
        return _page(
            "Get set up",
            f"""<h1>Get set up</h1>{steps}
<form method="post" action="/subscribe"><select name="plan">{plans}</select>
<button>Choose a plan</button></form>""",
        )

    @app.post("/onboarding/{step}")
    async def onboarding_step(step: str, user: CurrentUser) -> RedirectResponse:
        # No decorator: goals.toml matches /onboarding/<step>, and annotate() adds
        # what the view knows to the goal the middleware records for this request.
        if step not in ONBOARDING_STEPS:
            raise HTTPException(status_code=404, detail="No such step.")
        if step not in user.steps_done:
            user.steps_done.append(step)
        annotate(properties={"step_number": ONBOARDING_STEPS.index(step) + 1})
        return RedirectResponse("/onboarding", status_code=303)

    @app.post("/subscribe")
    @track_macro("paid_signup", currency="USD")
    def subscribe(plan: Annotated[str, Form()], user: CurrentUser) -> RedirectResponse:
        if plan not in PLANS:
            raise HTTPException(status_code=422, detail=f"Unknown plan {plan!r}.")
        user.plan, user.paid = plan, True
        annotate(
            value=PLANS[plan],
            transaction_id=f"sub_{user.id}",
            properties={"plan": plan, "onboarding_steps": len(user.steps_done)},
        )
        return RedirectResponse("/welcome", status_code=303)

    @app.get("/welcome", response_class=HTMLResponse)
    def welcome(user: CurrentUser) -> HTMLResponse:
        return _page("Welcome", f"<h1>Welcome to Ledgerly {escape(user.plan.title())}!</h1>")

    return app
