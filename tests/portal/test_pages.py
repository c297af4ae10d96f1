import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
TEMPLATES = Path(settings.BASE_DIR) / "templates"

HEADINGS = {"en": "Mobile for life in Norway", "nb": "Mobil for hverdagen i Norge", "zh-hans": "在挪威，畅享移动生活"}


@pytest.mark.parametrize(("language", "heading"), HEADINGS.items())
def test_the_home_page_speaks_each_language(client, language, heading):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE=language)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in html
    assert heading in html


@pytest.mark.parametrize("language", ["en", "nb", "zh-hans"])
@pytest.mark.parametrize(
    "url", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/accounts/login/code/"]
)
def test_sign_in_pages_render_in_our_layout_in_each_language(client, url, language):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in html
    assert "vendor/bootstrap/bootstrap.min.css" in html
    assert 'name="viewport"' in html


def test_every_response_carries_a_strict_content_security_policy(client):
    policy = client.get("/")["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_no_template_has_inline_script_or_style():
    for path in TEMPLATES.rglob("*.html"):
        if path.relative_to(TEMPLATES).parts[0] == "emails":
            continue  # read in mail programs, not under our policy: they take styles only inline
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline script in {path}"
        assert not re.search(r"<style\b|\sstyle=", text), f"inline style in {path}"
        assert not re.search(r"\son[a-z]+=", text), f"inline event handler in {path}"


def test_an_unknown_page_is_a_translated_404(client):
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="nb")
    assert response.status_code == 404
    assert "Fant ikke siden" in response.content.decode()


def test_a_customer_who_signs_in_lands_on_the_dashboard(client):
    user = UserFactory(full_name="Kari Nordmann", phone_verified=True)
    client.force_login(user)
    html = client.get("/", follow=True).content.decode()
    assert "Hello, Kari" in html
    assert "You have no lines yet" in html
