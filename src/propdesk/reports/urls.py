"""The reports' pages, under /backoffice/."""

from django.urls import path

from propdesk.reports import backoffice

backoffice_urls = [
    path("reports/transactions/", backoffice.transactions_report, name="transactions_report"),
    path("reports/ib-commission/", backoffice.commission_report, name="commission_report"),
    path("prop-trading/dashboard/", backoffice.prop_dashboard_page, name="prop_dashboard"),
]
