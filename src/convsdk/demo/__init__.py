"""``convsdk demo``: two weeks of a coffee shop's traffic, simulated end to end.

:func:`run_demo` builds a tracker on a fresh SQLite file, drives simulated visitors
through the demo shop (:mod:`convsdk.demo.shop`, a Flask app) in-process with Flask's test
client, one cookie jar per visitor, then prints the report and writes it as HTML.

The traffic has effects planted in it, which the report should find:

- five channels (Google Ads, organic search, Facebook ads, the email newsletter,
  direct), each with its own landing pages, curiosity and intent;
- reading the journal raises a visitor's odds of buying the most; signing up for the
  newsletter raises them too, less;
- the pricing page's variant B converts better than variant A;
- carts and checkouts are abandoned, and some card numbers are mistyped (a 422);
- crawlers visit too: the tracker filters them, they are never counted;
- privacy-minded visitors send Do-Not-Track or Global Privacy Control: they are
  counted anonymously, without visitor or session ids.

Time is simulated: each visitor arrives at a random moment of the last
:data:`DAYS` days, and may leave and come back hours or days later (a new session).
The tracker stamps every event with the simulated time as it is emitted, so funnels,
windows and time to convert read like real traffic. A visitor whose next step would
fall after "now" has simply not come back yet.

Modules: :mod:`~convsdk.demo.runner` (:func:`run_demo`), :mod:`~convsdk.demo.console`
(what it prints), :mod:`~convsdk.demo.simulation` (playing the visitors),
:mod:`~convsdk.demo.traffic` (who visits), :mod:`~convsdk.demo.personas` (what they
do), :mod:`~convsdk.demo.browser` (their browsers, on simulated time) and
:mod:`~convsdk.demo.shop` (the shop itself).
"""

from __future__ import annotations

from .runner import run_demo
from .traffic import BOTS, DAYS, PRIVATE_BROWSERS

__all__ = ["BOTS", "DAYS", "PRIVATE_BROWSERS", "run_demo"]
