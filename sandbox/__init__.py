"""The pretend third parties, for development and tests only: `make run` and
the test settings install this app, production never does (a staging site
that asks by name with SANDBOX_PAYMENTS_TAKE_NO_MONEY is the one exception).

- the payment provider: a hosted page, its own book of payments and saved
  cards, and HMAC-signed callbacks sent by a Celery task. The portal reaches
  it only through its adapter, ``subscriptions.payments.sandbox``, the way it
  reaches a real provider's API.
"""
