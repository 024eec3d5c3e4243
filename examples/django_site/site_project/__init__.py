"""The Fernhill project: settings, URLs, the WSGI and ASGI entry points."""
