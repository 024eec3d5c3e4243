"""Fernhill's marketing pages: home, pricing, a contact form, a newsletter, the signup."""
