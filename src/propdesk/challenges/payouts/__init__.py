"""A funded trader's payouts: the schedule's conditions (eligibility), the request, its decision
and the payment (services), the portal's Payouts tab and the API."""
