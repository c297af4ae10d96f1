"""The subscriptions app's pages, in groups that portal/urls.py mounts
under their own prefixes."""

from django.urls import path

from subscriptions.views import (
    autorenew,
    cancellations,
    checkout,
    customer_data,
    esim_install,
    esim_notify,
    lines,
    new_lines,
    payments,
    receipts,
    replacements,
    simswap,
    sms_inbound,
    suspensions,
    vouchers,
)

# /lines/
urlpatterns = [
    path("new/", new_lines.new_line_start, name="new_line_start"),
    path("new/<uuid:public_id>/", new_lines.new_line_detail, name="new_line_detail"),
    path("<int:line_id>/", lines.line_detail, name="line_detail"),
    path("<int:line_id>/usage/", lines.line_usage, name="line_usage"),
    path("<int:line_id>/spending/", lines.line_spending, name="line_spending"),
    path("<int:line_id>/low-balance-alert/", lines.line_low_balance_threshold, name="line_low_balance_threshold"),
    path("<int:line_id>/renew/", checkout.renew, name="renew"),
    path("<int:line_id>/renew/<slug:plan_code>/", checkout.renew_checkout, name="renew_checkout"),
    path("<int:line_id>/top-up/", checkout.top_up, name="top_up"),
    path("<int:line_id>/voucher/", vouchers.redeem, name="voucher_redeem"),
    path("<int:line_id>/auto-renew/", autorenew.auto_renew_manage, name="auto_renew"),
    path("<int:line_id>/auto-renew/off/", autorenew.auto_renew_off, name="auto_renew_off"),
    path("<int:line_id>/esim/", esim_install.my_esim, name="my_esim"),
    path("<int:line_id>/esim/install/", esim_install.esim_install, name="esim_install"),
    path("<int:line_id>/esim/install/qr.png", esim_install.esim_qr, {"kind": "png"}, name="esim_qr_png"),
    path("<int:line_id>/esim/install/qr.svg", esim_install.esim_qr, {"kind": "svg"}, name="esim_qr_svg"),
    path("<int:line_id>/esim/install/email/", esim_install.esim_code_email, name="esim_code_email"),
    path("auto-renew/<uuid:public_id>/return/", autorenew.auto_renew_return, name="auto_renew_return"),
    path("<int:line_id>/replacement/", replacements.replacement_start, name="replacement_start"),
    path("<int:line_id>/suspend/", suspensions.line_suspend, name="line_suspend"),
    path("<int:line_id>/resume/", suspensions.line_resume, name="line_resume"),
    path("<int:line_id>/cancel/", cancellations.cancellation_start, name="cancellation_start"),
]

# /cancellations/
cancellation_patterns = [
    path("<uuid:public_id>/", cancellations.cancellation_detail, name="cancellation_detail"),
    path("<uuid:public_id>/withdraw/", cancellations.cancellation_withdraw_view, name="cancellation_withdraw"),
    path("<uuid:public_id>/credit-note.pdf", cancellations.credit_note_download, name="credit_note_download"),
]

# /replacements/
replacement_patterns = [
    path("<uuid:public_id>/", replacements.replacement_detail, name="replacement_detail"),
    path("<uuid:public_id>/code/", replacements.replacement_code_request, name="replacement_code_request"),
    path("<uuid:public_id>/code/check/", replacements.replacement_code_enter, name="replacement_code_enter"),
    path("<uuid:public_id>/pay/", replacements.replacement_pay, name="replacement_pay"),
    path("<uuid:public_id>/stop/", replacements.replacement_cancel, name="replacement_cancel"),
    path("stop/<str:token>/", replacements.replacement_stop_link, name="replacement_stop"),
]

# /account/data/ (the customer's own data)
customer_data_patterns = [
    path("", customer_data.your_data, name="your_data"),
    path("export/", customer_data.data_export_start, name="data_export_request"),
    path("export/<uuid:public_id>/<str:token>/", customer_data.data_export_download, name="data_export_download"),
    path("delete/", customer_data.account_delete_confirm, name="account_delete"),
]

# /sim-swap/v0/ (the CAMARA-style SIM Swap API for banks)
sim_swap_patterns = [
    path("retrieve-date", simswap.retrieve_date, name="sim_swap_retrieve_date"),
    path("check", simswap.check, name="sim_swap_check"),
]

# /plans/
plan_patterns = [path("", checkout.plan_catalogue, name="plan_catalogue")]

# /orders/
order_patterns = [
    path("<uuid:public_id>/", checkout.order_detail, name="order_detail"),
    path("<uuid:public_id>/return/", checkout.order_return, name="order_return"),
    path("<uuid:public_id>/status/", checkout.order_status, name="order_status"),
]

# /receipts/
receipt_patterns = [
    path("", receipts.receipt_list, name="receipt_list"),
    path("<int:receipt_id>/pdf/", receipts.receipt_download, name="receipt_download"),
]

# /payments/ (the providers' callbacks)
payment_patterns = [path("callback/<slug:provider_name>/", payments.payment_callback, name="payment_callback")]

# /esim/ (the SM-DP+'s download-progress notifications)
esim_patterns = [path("notify/<slug:provider_name>/", esim_notify.esim_notify, name="esim_notify")]

# /sms/ (texts the SMS gateway received for the service number)
sms_patterns = [path("inbound/", sms_inbound.sms_inbound, name="sms_inbound")]
