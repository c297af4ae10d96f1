"""Only the bench's settings install the bench: the product's modes know
nothing of it. Each mode is imported in a fresh interpreter, as a process would."""

import pytest

from tests.portal.test_settings import PRODUCTION_ENV, run

SHOW = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print('bench' in s.INSTALLED_APPS, s.ROOT_URLCONF)"
)


@pytest.mark.parametrize("mode", ["portal.settings.dev", "portal.settings.production", "portal.settings.test"])
def test_the_product_settings_do_not_install_the_bench(mode):
    result = run(["-c", SHOW], PRODUCTION_ENV, mode)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "portal.urls"]


def test_the_bench_settings_install_the_bench_and_its_urls():
    result = run(["-c", SHOW], {}, "bench.settings")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "bench.urls"]


def test_the_bench_command_exists_only_under_the_bench_settings():
    product = run(["manage.py", "bench", "--help"], PRODUCTION_ENV, "portal.settings.production")
    bench = run(["manage.py", "bench", "--help"], {}, "bench.settings")

    assert product.returncode != 0 and "Unknown command: 'bench'" in product.stderr
    assert bench.returncode == 0, bench.stderr
    assert "--scale" in bench.stdout
