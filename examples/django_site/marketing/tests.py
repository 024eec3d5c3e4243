"""The site's conversions, with Django's test runner: ``python manage.py test``.

``ConvSDKTestMixin`` sends every tracker's events to memory for each test (nothing
reaches the site's store) and gives them back as ``self.convsdk_events``; under pytest
the ``convsdk_events`` fixture is the same thing.
"""

from __future__ import annotations

from django.test import SimpleTestCase

from convsdk.integrations.django.testing import ConvSDKTestMixin

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Safari/605.1.15"


class ConversionTests(ConvSDKTestMixin, SimpleTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.events = self.convsdk_events
        self.client.defaults["HTTP_USER_AGENT"] = BROWSER

    def goals(self) -> list[tuple[str | None, str | None]]:
        return [(event.goal, event.kind) for event in self.events if event.goal]

    def test_page_views(self) -> None:
        self.client.get("/")
        response = self.client.get("/pricing/")
        self.assertContains(response, '<script src="/_convsdk/c.js')
        self.assertEqual(self.events.names(), ["page_view", "page_view"])
        self.assertEqual(self.goals(), [("viewed_pricing", "micro")])
        self.assertEqual(self.events.micro("viewed_pricing").context["path"], "/pricing/")

    def test_the_contact_form_counts_once(self) -> None:
        self.client.get("/contact/")
        self.client.post("/contact/", {"email": "not an address", "message": "hi"})
        response = self.client.post(
            "/contact/", {"email": "ada@example.com", "message": "a demo, please"}, follow=True
        )
        self.assertEqual(response.redirect_chain, [("/contact/thanks/", 302)])
        self.assertEqual(self.goals(), [("requested_demo", "micro")])

    def test_the_signup_counts_once_with_its_price(self) -> None:
        self.client.get("/signup/")
        self.client.post("/signup/", {"email": "ada@example.com", "plan": "gold"})  # invalid
        self.client.post("/signup/", {"email": "ada@example.com", "plan": "team"})
        signup = self.events.macro("signup")
        self.assertEqual((signup.value, signup.currency), (49.0, "EUR"))
        self.assertEqual(signup.properties["plan"], "team")
        self.assertEqual(self.goals(), [("signup", "macro")])

    def test_the_newsletter(self) -> None:
        self.client.post("/newsletter/", {"email": "ada@example.com", "next": "/pricing/"})
        self.client.post("/newsletter/", {"email": "qa@example.invalid"})
        self.assertEqual(self.goals(), [("newsletter", "micro")])

    def test_one_visitor_across_pages(self) -> None:
        self.client.get("/")
        self.client.post("/signup/", {"email": "ada@example.com", "plan": "starter"})
        visitors = {event.visitor_id for event in self.events}
        self.assertEqual(len(visitors), 1)
        self.assertIsNotNone(visitors.pop())
