"""Prop trading's staff permissions (registered with the catalogue when the app loads)."""

from __future__ import annotations

from propdesk.core.permissions import register

CHALLENGES_VIEW = register("challenges.view", "See the challenge catalogue and participants")
CHALLENGES_MANAGE = register(
    "challenges.manage", "Create, edit, publish, duplicate and end challenges"
)
PARTICIPANTS_MANAGE = register(
    "participants.manage", "Advance, reinstate, retry and cancel challenge participants"
)
PAYOUTS_REVIEW = register(
    "payouts.review", "Approve or reject funded traders' payout requests (Prop Trading Payout)"
)
PARTICIPATIONS_REVIEW = register(
    "participations.review",
    "Approve or reject Prop Trading Participation, Next Stage and Live Step requests",
)
# Growth > Promotional links.
GROWTH_LINKS = register(
    "growth.links", "See, create, change and disable promotional links and their counts"
)
# Growth > Coupons.
COUPONS_MANAGE = register(
    "growth.coupons", "Create, change and disable coupons; see their usage (Growth > Coupons)"
)
