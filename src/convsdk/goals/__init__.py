"""Goals: the rules that turn an interaction into a micro or macro conversion.

A :class:`Goal` names a conversion and says which interactions count as one::

    from convsdk import Goal, Funnel

    goals = [
        Goal.micro("viewed_pricing", event="page_view", path="/pricing", stage="consideration"),
        Goal.micro("newsletter", event="form_submit", path="/newsletter", role="secondary"),
        Goal.macro("purchase", event="checkout", path="/checkout*", value_from="form:total",
                   currency="USD", stage="decision"),
        Funnel("purchase_path", ["viewed_pricing", "purchase"], window="7d"),
    ]

A :class:`GoalSet` holds goals and funnels in declaration order; :meth:`GoalSet.match`
returns the first goal that matches an interaction. :func:`resolve_goals` builds one from
a list like the above, from a :class:`GoalSet`, or from a goal file (:func:`load_goals`).

The package, one job a module: ``goal`` (the :class:`Goal`), ``validation`` (the rules
its arguments obey), ``paths`` (path globs), ``status`` (response statuses),
``amounts`` (reading values), ``funnel``, ``goalset`` (matching), and the goal files:
``files`` (loading), ``file_schema`` (their shape) and ``file_errors`` (their errors).

Matching
--------
``event`` is compared exactly (``"page_view"``, ``"form_submit"``, ``"checkout"``, or any
name given to ``track()`` or sent by the browser); ``None`` matches every event.
``method`` is an HTTP verb compared case-insensitively; ``None`` matches every method.
``path`` is a case-sensitive glob over the URL path (no query string); ``None`` matches
every path:

- ``/pricing`` matches ``/pricing`` and ``/pricing/`` (one page, with or without the
  trailing slash; the stored path stays as the browser sent it), not ``/pricing/team``;
- ``*`` matches any run of characters, ``/`` included: ``/checkout*`` matches
  ``/checkout``, ``/checkout/pay`` and ``/checkout-now``; ``/blog/*`` matches
  ``/blog/`` and ``/blog/2024/launch`` but not ``/blog``; ``*`` alone matches any path;
- ``?`` matches exactly one character; every other character stands for itself;
- a list of patterns (``path=["/signup", "/register"]``) matches any of them.

``status`` is the response status the interaction must have: ``"2xx"``, ``"3xx"``
(any class ``"1xx"``-``"5xx"``), a code (``302``), or a list of those; by default any
status below 400. A Post/Redirect/Get form succeeds with a redirect and fails by
showing the form again (200), so its goal says ``status="3xx"``. Neither counts a 307
or 308 unless named: the client sends the same request again to another URL, where it
counts (see :mod:`convsdk.goals.status`)::

    Goal.macro("signup", event="form_submit", path="/register", status="3xx")

Values
------
A goal's conversion value is either fixed (``value=49.0``) or read from the request
(``value_from``): ``"form:<field>"`` (a submitted form field), ``"query:<param>"`` (a
query-string parameter) or ``"property:<key>"`` (a key of the event's properties).
Text is read leniently (see :meth:`Goal.extract_value`): ``"49.90"``, ``"1,299.00"``,
``"$19"``, ``"19,90 €"``, ``"1.299,00 EUR"`` are all understood; anything else gives no
value rather than an error.

Goal files
----------
:func:`load_goals` reads goals and funnels from TOML or JSON (chosen by the file's
extension, ``.toml`` or ``.json``). Keys are the :class:`Goal` and :class:`Funnel`
arguments; ``name`` and ``kind`` are required for a goal, ``name`` and ``steps`` for a
funnel. A complete TOML example::

    [[goals]]
    name = "viewed_pricing"
    kind = "micro"
    event = "page_view"
    path = "/pricing"
    stage = "consideration"
    description = "Saw the pricing page"

    [[goals]]
    name = "newsletter"
    kind = "micro"
    event = "form_submit"
    path = "/newsletter"
    method = "POST"
    role = "secondary"

    [[goals]]
    name = "demo_video"
    kind = "micro"
    event = "video_played"        # a custom event, sent by the browser beacon
    source = "browser"

    [[goals]]
    name = "purchase"
    kind = "macro"
    event = "checkout"
    path = "/checkout*"
    value_from = "form:total"
    currency = "USD"
    stage = "decision"

    [[goals]]
    name = "enterprise_lead"
    kind = "macro"
    event = "form_submit"
    path = "/contact/sales"
    value = 500.0                 # a fixed value for every conversion

    [[goals]]
    name = "signup"
    kind = "macro"
    event = "form_submit"
    path = ["/register", "/signup"]
    status = "3xx"                # success redirects; a failed form shows again (200)

    [[funnels]]
    name = "purchase_path"
    steps = ["viewed_pricing", "purchase"]
    window = "7d"                 # "90s", "30m", "24h", "7d", "2w", "1d12h" or seconds

The same in JSON::

    {
      "goals": [
        {"name": "viewed_pricing", "kind": "micro", "event": "page_view",
         "path": "/pricing", "stage": "consideration"},
        {"name": "purchase", "kind": "macro", "event": "checkout", "path": "/checkout*",
         "value_from": "form:total", "currency": "USD", "stage": "decision"},
        {"name": "signup", "kind": "macro", "event": "form_submit",
         "path": ["/register", "/signup"], "status": "3xx"}
      ],
      "funnels": [
        {"name": "purchase_path", "steps": ["viewed_pricing", "purchase"], "window": "7d"}
      ]
    }

Any problem (a missing file, a syntax error, an unknown key, a value of the wrong type
or out of range, two goals with the same name, a funnel step naming no goal) raises
:class:`convsdk.ConfigError` whose ``source``, ``goal`` and ``field`` say where.
"""

from __future__ import annotations

from .files import load_goals, resolve_goals
from .funnel import Funnel
from .goal import Goal, GoalOptions, Kind, Role, Source
from .goalset import GoalSet
from .status import StatusSpec, parse_status

__all__ = [
    "Funnel",
    "Goal",
    "GoalOptions",
    "GoalSet",
    "Kind",
    "Role",
    "Source",
    "StatusSpec",
    "load_goals",
    "parse_status",
    "resolve_goals",
]
