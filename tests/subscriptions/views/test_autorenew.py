"""Auto-renew as the customer meets it on the line's pages (turn it on by
saving a card on the sandbox's page, see the next charge, change plan or
card, turn it off), what another customer gets (a 404 everywhere), and what
support staff see in the admin."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import formats, timezone, translation

from sandbox.models import SandboxOutcome, SandboxPayment
from sandbox.provider import sandbox_decide
from subscriptions.formatting import format_nok
from subscriptions.models import (
    AutoRenewal,
    AutoRenewCharge,
    CardSetup,
    ChargeStatus,
    Line,
    LineStatus,
    PlanPeriod,
    SavedCard,
    SetupStatus,
)
from subscriptions.periods import OSLO
from subscriptions.services.autorenew import (
    auto_renew_charge_run,
    auto_renew_setup_finish,
    auto_renew_start,
    auto_renew_sweep,
)
from subscriptions.services.lines import line_transition
from tests.factories import LineFactory, PlanFactory, UserFactory
from tests.two_factor import staff_sign_in

pytestmark = pytest.mark.django_db

SITE = "http://testserver"
STATE = re.compile(r'<section class="card mb-3" id="auto-renew"[^>]*data-state="(on|off)"')
NEXT_CHARGE_TIME = re.compile(r'class="mb-2 auto-renew-next">.*?<time datetime="([^"]+)"[^>]*>([^<]+)</time>', re.S)


@pytest.fixture
def customer():
    return UserFactory(email="kari@example.test", full_name="Kari Nordmann", street_address="Storgata 5")


@pytest.fixture
def plan():
    return PlanFactory(code="fjord-week", period=PlanPeriod.WEEK, price_ore=79_00, name_en="Fjord week")


@pytest.fixture
def month_plan():
    return PlanFactory(code="fjord-month", price_ore=199_00, name_en="Fjord month")


@pytest.fixture
def line(customer, plan):
    """Its week ends in six days: the next charge is three days before."""
    return LineFactory(owner=customer, number="+4791234567", with_period=plan, with_period__days_ago=1)


def manage_url(line):
    return f"/lines/{line.pk}/auto-renew/"


def off_url(line):
    return f"/lines/{line.pk}/auto-renew/off/"


def line_page(client, line) -> str:
    response = client.get(f"/lines/{line.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def state_on(html: str) -> str:
    match = STATE.search(html)
    assert match, "no auto-renew section"
    return match[1]


def save_card_on_the_sandbox_page(client, line, plan, *, card="", outcome=SandboxOutcome.SAVE_CARD):
    """Send the form with "a new card", save one on the sandbox's page (no
    sign-in there, as on a real provider's), come back; the response of the
    return URL."""
    sent = client.post(manage_url(line), {"plan": plan.pk, "card": card})
    assert sent.status_code == 302
    setup = CardSetup.objects.get(line=line, status=SetupStatus.PENDING)
    assert sent["Location"] == f"{SITE}/sandbox-pay/{setup.setup_id}/"
    provider = Client()
    card_page = provider.get(sent["Location"])
    assert "Save a card" in card_page.content.decode()
    answered = provider.post(sent["Location"], {"outcome": outcome})
    assert answered["Location"] == f"{SITE}/lines/auto-renew/{setup.public_id}/return/"
    return client.get(answered["Location"], follow=True)


def turn_on(line, plan, *, declining=False) -> SavedCard:
    setup = auto_renew_start(owner=line.owner, line=line, plan=plan, site_url=SITE)
    outcome = SandboxOutcome.SAVE_DECLINING_CARD if declining else SandboxOutcome.SAVE_CARD
    sandbox_decide(payment_id=setup.setup_id, outcome=outcome)
    card = auto_renew_setup_finish(setup=setup).card
    assert card is not None
    return card


def shown_as(moment: datetime) -> str:
    with translation.override("en"):
        return formats.date_format(timezone.localtime(moment, OSLO), "DATETIME_FORMAT")


# --- turning it on ---------------------------------------------------------------------


def test_the_line_page_offers_auto_renew_while_it_is_off(signed_in, line):
    html = line_page(signed_in, line)

    assert state_on(html) == "off"
    assert f'class="btn btn-outline-primary btn-sm auto-renew-link" href="{manage_url(line)}"' in html
    assert 'id="auto-renew-off"' not in html
    assert "Off. Turn it on and we charge your card 3 days before the line expires" in html


def test_the_form_offers_the_lines_plans_and_a_new_card(signed_in, line, plan, month_plan):
    html = signed_in.get(manage_url(line)).content.decode()

    assert re.findall(r'name="plan" id="plan-\d+" value="(\d+)"( checked)?', html) == [
        (str(plan.pk), " checked"),
        (str(month_plan.pk), ""),
    ]
    assert f"{format_nok(79_00)} every week, that is about {format_nok(339_00)} a month" in html
    assert f"{format_nok(199_00)} every month" in html
    assert '<option value="" selected>A new card</option>' in html


def test_saving_a_card_turns_it_on_and_the_line_page_tells_the_next_charge(signed_in, line, month_plan):
    page = save_card_on_the_sandbox_page(signed_in, line, month_plan)

    assert page.redirect_chain[-1][0] == f"/lines/{line.pk}/#auto-renew"
    html = page.content.decode()
    assert f"Your card is saved and auto-renew is on: {format_nok(199_00)} every month." in html
    assert state_on(html) == "on"
    assert "On: renews with Fjord month, paid with your card Visa •••• 4242." in html
    assert f"Next charge: {format_nok(199_00)}" in html
    line.refresh_from_db()
    assert line.auto_renew
    assert line.expires_at is not None
    when = line.expires_at - timedelta(days=3)
    match = NEXT_CHARGE_TIME.search(html)
    assert match
    assert datetime.fromisoformat(match[1]) == when
    assert match[2] == shown_as(when)
    assert 'id="auto-renew-off"' in html
    assert AutoRenewal.objects.get(line=line).plan == month_plan


def test_a_card_not_saved_leaves_it_off_and_says_so(signed_in, line, plan):
    page = save_card_on_the_sandbox_page(signed_in, line, plan, outcome=SandboxOutcome.CANCEL)

    html = page.content.decode()
    assert "The card was not saved, so auto-renew is still off." in html
    assert state_on(html) == "off"
    line.refresh_from_db()
    assert not line.auto_renew


def test_coming_back_before_the_provider_knows_says_to_try_again(signed_in, line, plan):
    signed_in.post(manage_url(line), {"plan": plan.pk, "card": ""})
    setup = CardSetup.objects.get()

    html = signed_in.get(f"/lines/auto-renew/{setup.public_id}/return/", follow=True).content.decode()

    assert "The payment service has not confirmed the card yet. Try again in a moment." in html
    assert state_on(html) == "off"


def test_a_line_cancelled_while_the_card_was_being_saved_is_explained_not_an_error(signed_in, line, plan):
    signed_in.post(manage_url(line), {"plan": plan.pk, "card": ""})
    setup = CardSetup.objects.get()
    sandbox_decide(payment_id=setup.setup_id, outcome=SandboxOutcome.SAVE_CARD)
    line_transition(line=line, to=LineStatus.CANCELLATION_PENDING, by=line.owner, reason="moving home")

    response = signed_in.get(f"/lines/auto-renew/{setup.public_id}/return/", follow=True)

    assert response.status_code == 200
    assert "This line is being cancelled or is cancelled, so it cannot be renewed." in response.content.decode()
    line.refresh_from_db()
    assert not line.auto_renew


def test_a_line_being_cancelled_offers_no_auto_renew(signed_in, line, plan):
    line_transition(line=line, to=LineStatus.CANCELLATION_PENDING, by=line.owner, reason="moving home")

    html = line_page(signed_in, line)
    refused = signed_in.post(manage_url(line), {"plan": plan.pk, "card": ""})

    assert "auto-renew-link" not in html
    assert refused.status_code == 200
    assert "This line is being cancelled or is cancelled, so it cannot be renewed." in refused.content.decode()
    assert not SandboxPayment.objects.exists()


# --- changing and turning off ---------------------------------------------------------


def test_changing_the_plan_with_the_saved_card_takes_effect_at_once(signed_in, line, plan, month_plan):
    card = turn_on(line, plan)

    response = signed_in.post(manage_url(line), {"plan": month_plan.pk, "card": card.pk}, follow=True)

    html = response.content.decode()
    assert f"Auto-renew is on: {format_nok(199_00)} every month." in html
    assert f"Next charge: {format_nok(199_00)}" in html
    setting = AutoRenewal.objects.get(line=line)
    assert (setting.plan, setting.card) == (month_plan, card)
    assert CardSetup.objects.count() == 1  # no new trip to the provider


def test_changing_to_a_new_card_saves_it_on_the_providers_page(signed_in, line, plan):
    old_card = turn_on(line, plan)

    page = save_card_on_the_sandbox_page(signed_in, line, plan)

    assert "Your card is saved and auto-renew is on: " in page.content.decode()
    setting = AutoRenewal.objects.get(line=line)
    assert setting.card != old_card
    assert set(SavedCard.objects.filter(owner=line.owner)) == {old_card, setting.card}


def test_the_form_offers_the_customers_saved_cards(signed_in, line, plan):
    card = turn_on(line, plan)

    html = signed_in.get(manage_url(line)).content.decode()

    assert f'<option value="{card.pk}" selected>Visa •••• 4242</option>' in html


def test_another_customers_card_is_not_a_choice(signed_in, line, plan):
    other_card = turn_on(LineFactory(with_period=plan), plan)

    response = signed_in.post(manage_url(line), {"plan": plan.pk, "card": other_card.pk})

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    line.refresh_from_db()
    assert not line.auto_renew


def test_turning_it_off(signed_in, line, plan):
    turn_on(line, plan)

    response = signed_in.post(off_url(line), follow=True)

    assert response.redirect_chain[-1][0] == f"/lines/{line.pk}/#auto-renew"
    html = response.content.decode()
    assert "Auto-renew is off. Nothing will be charged automatically." in html
    assert state_on(html) == "off"
    assert "Next charge" not in html
    line.refresh_from_db()
    assert not line.auto_renew
    assert signed_in.get(off_url(line)).status_code == 405


def test_a_failed_charge_and_its_retry_are_shown_on_the_line_page(signed_in, customer, plan):
    line = LineFactory(owner=customer, with_period=plan, with_period__days_ago=5)  # ends in two days
    turn_on(line, plan, declining=True)
    now = timezone.now()
    [charge_id] = auto_renew_sweep(now=now)
    charge = auto_renew_charge_run(charge_id=charge_id, now=now)
    assert charge.next_attempt_at is not None

    html = line_page(signed_in, line)

    assert f"The last automatic charge failed. Next try: {shown_as(charge.next_attempt_at)}" in html
    match = NEXT_CHARGE_TIME.search(html)
    assert match
    assert datetime.fromisoformat(match[1]) == charge.next_attempt_at


def test_a_charge_given_up_tells_the_customer_to_renew_by_hand(signed_in, customer, plan):
    line = LineFactory(owner=customer, with_period=plan, with_period__days_ago=5)
    turn_on(line, plan, declining=True)
    now = timezone.now()
    [charge_id] = auto_renew_sweep(now=now)
    for moment in (now, now + timedelta(hours=1), now + timedelta(hours=25)):
        auto_renew_charge_run(charge_id=charge_id, now=moment)
    assert AutoRenewCharge.objects.get().status == ChargeStatus.FAILED

    html = line_page(signed_in, line)

    assert "The automatic charge failed and will not be tried again. Renew by hand to keep the line." in html
    assert "Next charge" not in html


# --- one customer's line is not another's ---------------------------------------------


def test_another_customer_gets_a_404_on_every_auto_renew_address(signed_in, stranger_client, line, plan):
    card = turn_on(line, plan)
    signed_in.post(manage_url(line), {"plan": plan.pk, "card": ""})
    pending = CardSetup.objects.get(status=SetupStatus.PENDING)
    sandbox_decide(payment_id=pending.setup_id, outcome=SandboxOutcome.SAVE_CARD)

    assert stranger_client.get(manage_url(line)).status_code == 404
    assert stranger_client.post(manage_url(line), {"plan": plan.pk, "card": ""}).status_code == 404
    assert stranger_client.post(off_url(line)).status_code == 404
    assert stranger_client.get(f"/lines/auto-renew/{pending.public_id}/return/").status_code == 404

    line.refresh_from_db()
    pending.refresh_from_db()
    assert line.auto_renew
    assert AutoRenewal.objects.get(line=line).card == card
    assert pending.status == SetupStatus.PENDING  # the stranger's visit did not finish it
    assert CardSetup.objects.count() == 2
    assert not CardSetup.objects.exclude(owner=line.owner).exists()


def test_another_customer_cannot_turn_it_on(stranger_client, line, plan):
    assert stranger_client.post(manage_url(line), {"plan": plan.pk, "card": ""}).status_code == 404

    line.refresh_from_db()
    assert not line.auto_renew
    assert not CardSetup.objects.exists()
    assert not SandboxPayment.objects.exists()


def test_signed_out_the_pages_ask_to_sign_in(client, line, plan):
    for response in (client.get(manage_url(line)), client.post(off_url(line))):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


# --- support staff ---------------------------------------------------------------------

LINES = "/admin/subscriptions/line/"
CHARGES = "/admin/subscriptions/autorenewcharge/"
SETTINGS = "/admin/subscriptions/autorenewal/"
CARDS = "/admin/subscriptions/savedcard/"


@pytest.fixture
def agent(client):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Support agent"))
    staff_sign_in(client, user)
    return client


@pytest.fixture
def given_up(customer, plan) -> Line:
    """A line whose declining card failed three times."""
    line: Line = LineFactory(owner=customer, number="+4791234567", with_period=plan, with_period__days_ago=5)
    turn_on(line, plan, declining=True)
    now = timezone.now()
    [charge_id] = auto_renew_sweep(now=now)
    for moment in (now, now + timedelta(hours=1), now + timedelta(hours=25)):
        auto_renew_charge_run(charge_id=charge_id, now=moment)
    return line


def cell(html: str, field: str) -> list[str]:
    """The texts of a field's cells in an admin list or inline."""
    return [text.strip() for text in re.findall(rf'<td class="field-{field}(?: nowrap)?">\s*(?:<p>)?([^<]*)', html)]


def test_an_agent_sees_each_charge_with_its_attempts_and_failure(agent, given_up):
    html = agent.get(CHARGES, {"q": "912 34 567"}).content.decode()

    assert cell(html, "status") == ["Failed"]
    assert cell(html, "attempts") == ["3"]
    assert cell(html, "last_error") == ["card_declined"]


def test_the_line_page_in_the_admin_shows_the_auto_renew_state_and_charges(agent, given_up):
    html = agent.get(f"{LINES}{given_up.pk}/change/").content.decode()

    assert "Auto-renew charges (newest 50)" in html
    assert cell(html, "status") == ["Failed"]
    assert cell(html, "attempts") == ["3"]
    assert cell(html, "last_error") == ["card_declined"]
    assert re.search(r'field-auto_renew">\s*<div>.*?<img src="[^"]*icon-yes\.svg" alt="True">', html, re.S)


def test_an_agent_sees_each_lines_choice_and_the_cards_without_their_provider_ids(agent, given_up, plan):
    choices = agent.get(SETTINGS).content.decode()
    card = SavedCard.objects.get()
    card_page = agent.get(f"{CARDS}{card.pk}/change/").content.decode()

    assert cell(choices, "plan") == ["Fjord week"]
    assert cell(choices, "card") == ["Visa •••• 4242"]
    assert '<td class="field-enabled"><img src="/static/admin/img/icon-yes.svg" alt="True"></td>' in choices
    assert card.last4 in card_page
    assert card.method_id not in card_page


def test_staff_cannot_add_or_edit_auto_renew_rows(agent, given_up):
    charge = AutoRenewCharge.objects.get()

    assert agent.get(f"{CHARGES}add/").status_code == 403
    assert agent.get(f"{SETTINGS}add/").status_code == 403
    page = agent.get(f"{CHARGES}{charge.pk}/change/").content.decode()
    assert 'name="status"' not in page
    assert 'name="attempts"' not in page


# --- the words on the page ---------------------------------------------------------------


@pytest.fixture
def speaks():
    """Sign the customer's pages into a language; the account's language,
    which the middleware activates for a request and leaves active, does
    not follow the test out."""

    def switch(customer, language: str) -> None:
        customer.language = language
        customer.save(update_fields=["language"])

    yield switch
    translation.deactivate()


def in_language(language: str, message: str, **values: str) -> str:
    with translation.override(language):
        text = translation.gettext(message)
    if language != "en":
        assert text != message, f"no {language} translation of {message!r}"
    return text % values if values else text


def test_the_retries_on_the_form_are_the_ones_the_settings_make(signed_in, line):
    html = signed_in.get(manage_url(line)).content.decode()

    assert (
        "If a charge fails, we try again after 1 hour, then again 1 day after that, and we tell you each time." in html
    )


RETRIES_IN = {
    "en": "If a charge fails, we try again after 30 minutes, then again 2 hours after that, "
    "then again 1 day after that, then again 3 days after that, and we tell you each time.",
    "nb": "Hvis en belastning mislykkes, prøver vi igjen etter 30 minutter, og så igjen 2 timer senere, "
    "og så igjen 1 dag senere, og så igjen 3 dager senere, og vi gir deg beskjed hver gang.",
    "zh-hans": "如果扣款失败，我们会在 30 分钟后重试，之后再隔 2 小时重试一次，之后再隔 1 天重试一次，"
    "之后再隔 3 天重试一次，每次都会通知您。",
}


@pytest.mark.parametrize("language", sorted(RETRIES_IN))
def test_other_retry_delays_are_described_in_the_customers_language_with_their_plurals(
    settings, signed_in, customer, line, language, speaks
):
    settings.AUTO_RENEW_RETRY_DELAYS_SECONDS = [1800, 2 * 3600, 86400, 3 * 86400]
    speaks(customer, language)

    html = signed_in.get(manage_url(line)).content.decode()

    assert RETRIES_IN[language] in html
    assert "after an hour and after a day" not in html


def test_without_retries_the_form_says_a_failed_charge_is_not_tried_again(settings, signed_in, line):
    settings.AUTO_RENEW_RETRY_DELAYS_SECONDS = []

    html = signed_in.get(manage_url(line)).content.decode()

    assert "If a charge fails we do not try again; we tell you by email." in html


@pytest.mark.parametrize("language", ["nb", "zh-hans"])
def test_the_next_charge_reads_as_one_translated_phrase(signed_in, customer, line, month_plan, language, speaks):
    turn_on(line, month_plan)
    speaks(customer, language)

    html = line_page(signed_in, line)

    with translation.override(language):
        amount = format_nok(199_00)
    shown = NEXT_CHARGE_TIME.search(html)
    assert shown
    when = f'<time datetime="{shown[1]}" class="fw-semibold">{shown[2]}</time>'
    phrase = in_language(language, "Next charge: %(amount)s on %(when)s.", amount=amount, when=when)
    assert phrase in html


@pytest.mark.parametrize(("language", "name"), [("en", "card"), ("nb", "kort"), ("zh-hans", "银行卡")])
def test_a_card_without_a_brand_is_named_in_the_customers_language(customer, language, name):
    card = SavedCard.objects.create(owner=customer, provider="sandbox", method_id="pm_1", brand="", last4="4242")

    with translation.override(language):
        assert str(card) == f"{name} •••• 4242"


def test_the_form_says_which_plans_are_charged_nearer_their_end(settings, signed_in, line):
    html = signed_in.get(manage_url(line)).content.decode()

    assert "We charge the card 3 days before the line expires" in html
    assert "Day plans are charged 12 hours before the line expires." in html
    assert "Week plans" not in html

    settings.AUTO_RENEW_DAYS_BEFORE = 5
    html = signed_in.get(manage_url(line)).content.decode()

    assert "Week plans are charged 84 hours before the line expires." in html


@pytest.mark.parametrize("language", ["nb", "zh-hans"])
def test_the_plans_charged_nearer_their_end_are_named_in_the_customers_language(
    signed_in, customer, line, language, speaks
):
    speaks(customer, language)

    html = signed_in.get(manage_url(line)).content.decode()

    with translation.override(language):
        wanted = translation.gettext("Day plans are charged %(wait)s before the line expires.") % {
            "wait": translation.ngettext("%(count)d hour", "%(count)d hours", 12) % {"count": 12},
        }
    assert "Day plans" not in wanted
    assert wanted in html
