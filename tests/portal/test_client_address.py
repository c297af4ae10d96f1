"""Production sits behind one TLS proxy: the client's address, which the
sign-in rate limits (allauth's) and the voucher throttle count by, is the
entry that proxy appended to X-Forwarded-For, not the proxy's own."""

from tests.portal.test_settings import PRODUCTION_ENV, run

ASK = (
    "import django; django.setup(); "
    "from django.test import RequestFactory; from allauth.account.adapter import get_adapter; "
    "request = RequestFactory().get('/', REMOTE_ADDR='10.0.0.2', "
    "HTTP_X_FORWARDED_FOR='{forwarded}'); print(get_adapter(request).get_client_ip(request))"
)


def test_production_takes_the_address_the_proxy_appended():
    code = ASK.format(forwarded="6.6.6.6, 198.51.100.20")
    result = run(["-c", code], PRODUCTION_ENV, "portal.settings.production")

    assert result.returncode == 0, result.stderr
    # The first entry is whatever the client sent; only the last is the proxy's word.
    assert result.stdout.strip() == "198.51.100.20"


def test_the_number_of_trusted_proxies_comes_from_the_environment():
    code = ASK.format(forwarded="198.51.100.20, 192.0.2.1")
    result = run(["-c", code], {**PRODUCTION_ENV, "TRUSTED_PROXY_COUNT": "2"}, "portal.settings.production")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "198.51.100.20"


def test_development_trusts_no_forwarded_address():
    result = run(["-c", ASK.format(forwarded="198.51.100.20")], {}, "portal.settings.dev")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "10.0.0.2"
