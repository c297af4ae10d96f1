"""Every string a person reads is translated into zh-hans and nb."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

from tests.conftest import IN_CI

ROOT = Path(settings.BASE_DIR)
CATALOGUES = {"zh_Hans": ROOT / "locale/zh_Hans/LC_MESSAGES/django.po", "nb": ROOT / "locale/nb/LC_MESSAGES/django.po"}
SOURCES = ["accounts", "portal", "sandbox", "subscriptions", "templates", "manage.py"]


@pytest.mark.parametrize("locale", CATALOGUES)
def test_every_message_is_translated(locale):
    catalogue = polib.pofile(str(CATALOGUES[locale]))
    assert len(catalogue) > 50
    untranslated = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    assert untranslated == []
    assert fuzzy == []


@pytest.mark.parametrize("locale", CATALOGUES)
def test_translations_keep_every_placeholder(locale):
    import re

    placeholder = re.compile(r"%\(\w+\)s|\{\{ *\w+ *\}\}|%s|%d")
    for entry in polib.pofile(str(CATALOGUES[locale])).translated_entries():
        wanted = sorted(placeholder.findall(entry.msgid_plural or entry.msgid))
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for translation in translations:
            assert sorted(placeholder.findall(translation)) == wanted, entry.msgid


# English texts that mean different things in different places. Each use
# says which meaning with a message context (pgettext): without one, a single
# translation serves both, right for one and wrong for the other (已注销 is a
# cancelled line, not a cancelled payment; 月份 is a calendar month, not a
# plan's period).
TWO_MEANINGS = {
    "Cancelled": {"line status", "payment status", "auto-renew charge status"},
    "Pending": {"line status", "payment status"},
    "Month": {"plan period", "calendar month"},
    "Expired": {"line status", "voucher status"},
    "English": {"language"},
}
# Meanings a language words differently (Norwegian says "Måned" for both months).
DIFFERENT_WORDS = [
    (locale, *meanings)
    for locale in CATALOGUES
    for meanings in [
        ("Cancelled", "line status", "payment status"),
        ("Cancelled", "line status", "auto-renew charge status"),
        ("Pending", "line status", "payment status"),
    ]
] + [("zh_Hans", "Month", "plan period", "calendar month"), ("zh_Hans", "Expired", "line status", "voucher status")]


@pytest.fixture(scope="module")
def messages_in_the_code(tmp_path_factory):
    """(context, message id) of every message makemessages finds in a copy
    of the sources."""
    if not shutil.which("xgettext"):
        if IN_CI:
            pytest.fail("xgettext (GNU gettext) is needed to check the catalogues")
        pytest.skip("needs xgettext: apt-get install gettext")
    tmp_path = tmp_path_factory.mktemp("sources")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    (tmp_path / "locale").mkdir()
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-location", "--no-obsolete"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "portal.settings.test", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)},
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return {
        (entry.msgctxt, entry.msgid) for entry in polib.pofile(str(tmp_path / "locale/zh_Hans/LC_MESSAGES/django.po"))
    }


def test_the_catalogues_hold_every_message_id_in_the_code(messages_in_the_code):
    """makemessages, run on a copy of the sources, finds no message that our
    catalogues lack."""
    for locale, path in CATALOGUES.items():
        known = {(entry.msgctxt, entry.msgid) for entry in polib.pofile(str(path))}
        assert sorted(messages_in_the_code - known, key=str) == [], f"messages missing from the {locale} catalogue"


@pytest.mark.parametrize("msgid", TWO_MEANINGS)
def test_a_text_with_two_meanings_always_says_which_it_means(messages_in_the_code, msgid):
    contexts = {context for context, found in messages_in_the_code if found == msgid}
    assert None not in contexts, f"{msgid!r} is used without a context (pgettext) somewhere"
    assert TWO_MEANINGS[msgid] <= contexts


@pytest.mark.parametrize(("locale", "msgid", "one", "other"), DIFFERENT_WORDS)
def test_each_meaning_has_its_own_words(locale, msgid, one, other):
    translations = {
        entry.msgctxt: entry.msgstr for entry in polib.pofile(str(CATALOGUES[locale])) if entry.msgid == msgid
    }
    assert translations[one] != translations[other]
