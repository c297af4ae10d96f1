"""Fakes of the services outside the portal (Stripe's API, an SMTP server, the
SMS gateway): real servers on a loopback port, so the code under test speaks
its own protocol to them. Tests get them through the fixtures in conftest.py."""
