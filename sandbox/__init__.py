"""The pretend third parties, for development and tests only: `make run` and
the test settings install this app, production never does (a staging site
that asks by name with SANDBOX_PAYMENTS_TAKE_NO_MONEY or
SANDBOX_ESIM_AND_NETWORK_ARE_PRETEND is the exception).

- the payment provider: a hosted page, its own book of payments and saved
  cards, and HMAC-signed callbacks sent by a Celery task. The portal reaches
  it only through its adapter, ``subscriptions.payments.sandbox``, the way it
  reaches a real provider's API.
- the SM-DP+ (``sandbox.smdp``): SGP.22 ES2+ answers kept per request id, a
  pretend phone that installs a released profile (/sandbox/esim/<iccid>/),
  and signed download-progress notifications sent by a Celery task.
- the network's provisioning (``sandbox.network``): blocks, unblocks and IMSI
  swaps per number, kept per request id.
"""
