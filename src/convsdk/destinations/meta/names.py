"""Meta's standard events, and which of convsdk's goals they stand for.

Meta's "Standard Events" (developers.facebook.com/docs/meta-pixel/reference): AddPaymentInfo,
AddToCart, AddToWishlist, CompleteRegistration, Contact, CustomizeProduct, Donate,
FindLocation, InitiateCheckout, Lead, PageView, Purchase, Schedule, Search, StartTrial,
SubmitApplication, Subscribe, ViewContent. Any other name is a custom event; the
Conversions API's ``event_name`` is "a standard event or custom event name".
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["MAX_CUSTOM_NAME", "STANDARD_EVENTS", "check_event_name", "meta_event_name"]

MAX_CUSTOM_NAME = 50

#: Goal names (lower case, words joined by ``_``) -> Meta's standard event.
STANDARD_EVENTS: dict[str, str] = {
    "purchase": "Purchase",
    "order": "Purchase",
    "order_completed": "Purchase",
    "lead": "Lead",
    "generate_lead": "Lead",
    "signup": "CompleteRegistration",
    "sign_up": "CompleteRegistration",
    "registration": "CompleteRegistration",
    "register": "CompleteRegistration",
    "complete_registration": "CompleteRegistration",
    "demo_booked": "Schedule",
    "book_demo": "Schedule",
    "schedule": "Schedule",
    "add_to_cart": "AddToCart",
    "add_to_wishlist": "AddToWishlist",
    "add_payment_info": "AddPaymentInfo",
    "checkout": "InitiateCheckout",
    "begin_checkout": "InitiateCheckout",
    "initiate_checkout": "InitiateCheckout",
    "contact": "Contact",
    "customize_product": "CustomizeProduct",
    "donate": "Donate",
    "find_location": "FindLocation",
    "search": "Search",
    "start_trial": "StartTrial",
    "trial": "StartTrial",
    "submit_application": "SubmitApplication",
    "subscribe": "Subscribe",
    "view_content": "ViewContent",
    "page_view": "PageView",
}
_WORDS = re.compile(r"[^a-z0-9]+")
_CUSTOM = re.compile(r"[A-Za-z0-9_\- ]{1,50}")
_DROP = re.compile(r"[^A-Za-z0-9_\- ]+")


def meta_event_name(name: str, names: Mapping[str, str]) -> str:
    """The ``event_name`` for a goal (or interaction) called ``name``: ``names``' (the
    ``events=`` option), else the standard event it stands for, else ``name`` itself
    as a custom event (characters Meta does not take dropped, cut to 50).

    >>> meta_event_name("signup", {}), meta_event_name("Demo_Booked", {})
    ('CompleteRegistration', 'Schedule')
    """
    if name in names:
        return names[name]
    standard = STANDARD_EVENTS.get(_WORDS.sub("_", name.lower()).strip("_"))
    if standard is not None:
        return standard
    return _DROP.sub("", name)[:MAX_CUSTOM_NAME] or "event"


def check_event_name(name: str) -> str:
    """``name`` if Meta takes it as an event name, else ``ValueError``."""
    if not _CUSTOM.fullmatch(name):
        raise ValueError(
            "a Meta event name is 1 to 50 letters, digits, '_', '-' or spaces "
            f"(a standard event such as 'Lead', or a custom one): got {name!r}"
        )
    return name
