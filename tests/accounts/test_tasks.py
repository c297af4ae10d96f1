import pytest
from celery.exceptions import Retry
from django.core import mail

from accounts.tasks import send_welcome
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_welcome_is_sent_once_however_often_the_task_runs():
    user = UserFactory(language="zh-hans")
    send_welcome.apply(args=[user.pk])
    send_welcome.apply(args=[user.pk])
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "欢迎使用 Nordlys Mobil"
    assert mail.outbox[0].to == [user.email]


def test_a_customer_without_email_is_welcomed_by_sms(sms_outbox):
    user = UserFactory(email=None, language="nb")
    send_welcome.apply(args=[user.pk])
    assert mail.outbox == []
    assert [m.to for m in sms_outbox] == [user.phone]
    assert "Velkommen til Nordlys Mobil" in sms_outbox[0].body


def test_a_failed_welcome_is_released_for_the_retry(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    user = UserFactory()
    with pytest.raises(Retry):  # eager tasks propagate; a worker would retry later
        send_welcome.apply(args=[user.pk])
    user.refresh_from_db()
    assert user.welcomed_at is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    send_welcome.apply(args=[user.pk])
    user.refresh_from_db()
    assert user.welcomed_at is not None
    assert len(mail.outbox) == 1
