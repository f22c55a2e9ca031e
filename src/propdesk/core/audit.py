"""The audit trail: every staff decision and settings change, in the same transaction.

An action is named `<object>.<verb>`: the thing acted on, in the firm's words and in the
singular, then what was done to it, as a verb (`role.update`, `stage.reinstate`). A new action is
a new `AuditAction` member; `record` takes nothing else, so the audit log's filter lists a
closed set of names. The state before and after is a `snapshot` of the object's fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction

from propdesk.core.models import AuditRecord

if TYPE_CHECKING:  # the site's user model (AUTH_USER_MODEL) as type checkers see it
    from django.contrib.auth.models import _User as User

SYSTEM = "system"


class AuditAction(models.TextChoices):
    # accounts: staff, roles, clients, two-factor login
    STAFF_CREATE = "staff.create", "Staff user created"
    STAFF_UPDATE = "staff.update", "Staff user changed"
    STAFF_RESET_TWO_FACTOR = "staff.reset_two_factor", "Staff user's two-factor login reset"
    ROLE_CREATE = "role.create", "Role created"
    ROLE_UPDATE = "role.update", "Role changed"
    CLIENT_SUSPEND = "client.suspend", "Client suspended"
    CLIENT_REACTIVATE = "client.reactivate", "Client reactivated"
    CLIENT_NOTE = "client.note", "Note written on a client"
    CLIENT_MOVE_REFERRER = "client.move_referrer", "Client moved to another referrer"
    CLIENT_GROUP_CREATE = "client_group.create", "Client group created"
    CLIENT_GROUP_UPDATE = "client_group.update", "Client group changed"
    CLIENT_GROUP_DEFAULT = "client_group.default", "Default client group chosen"
    CLIENT_GROUP_DELETE = "client_group.delete", "Client group deleted"
    CLIENT_GROUP_ASSIGN = "client_group.assign", "Clients moved to a group"
    GROUP_RULE_SAVE = "group_rule.save", "Client group registration rule saved"
    GROUP_RULE_DELETE = "group_rule.delete", "Client group registration rule deleted"
    TWO_FACTOR_ENROL = "two_factor.enrol", "Two-factor login turned on"
    TWO_FACTOR_REPLACE = "two_factor.replace", "Two-factor login moved to a new app"
    TWO_FACTOR_REGENERATE_RECOVERY_CODES = (
        "two_factor.regenerate_recovery_codes",
        "New recovery codes made",
    )
    TWO_FACTOR_USE_RECOVERY_CODE = "two_factor.use_recovery_code", "Recovery code used"
    TWO_FACTOR_DISABLE = "two_factor.disable", "Two-factor login turned off"
    # accounts: account recovery
    PASSWORD_RESET = "password.reset", "Password reset through an emailed link"
    PASSWORD_CHANGE = "password.change", "Password changed"
    EMAIL_VERIFY = "email.verify", "Email address verified"
    # approvals
    APPROVAL_APPROVE = "approval.approve", "Request approved"
    APPROVAL_REJECT = "approval.reject", "Request rejected"
    APPROVAL_APPROVE_LEVEL = "approval.approve_level", "Request approved at one level"
    APPROVAL_AMEND_AMOUNT = "approval.amend_amount", "Request's amount amended"
    APPROVAL_NOTE = "approval.note", "Note added to a request"
    APPROVAL_POLICY_UPDATE = "approval_policy.update", "Approval method changed"
    # onboarding: KYC
    KYC_POLICY_UPDATE = "kyc_policy.update", "Actions blocked until KYC changed"
    KYC_FORM_CREATE = "kyc_form.create", "KYC form created"
    KYC_FORM_UPDATE = "kyc_form.update", "KYC form changed"
    KYC_DOCUMENT_VIEW = "kyc_document.view", "KYC document viewed"
    KYC_VENDOR_UPDATE = "kyc_vendor.update", "KYC vendor settings changed"
    # wallet
    WALLET_ADJUST = "wallet.adjust", "Wallet adjusted"
    PAYMENT_METHOD_CREATE = "payment_method.create", "Payment method created"
    PAYMENT_METHOD_UPDATE = "payment_method.update", "Payment method changed"
    PAYMENT_PROVIDER_UPDATE = "payment_provider.update", "Payment provider settings changed"
    PAYMENT_PROVIDER_TEST = "payment_provider.test", "Payment provider connection tested"
    PAYMENT_REFUND = "payment.refund", "Payment refund asked"
    # platforms
    TRADING_SERVER_CREATE = "trading_server.create", "Trading server created"
    TRADING_SERVER_UPDATE = "trading_server.update", "Trading server changed"
    INSTRUMENT_UPDATE = "instrument.update", "Sandbox instrument changed"
    TRADING_ACCOUNT_ENABLE = "trading_account.enable", "Trading enabled on an account"
    TRADING_ACCOUNT_DISABLE = "trading_account.disable", "Trading disabled on an account"
    TRADING_ACCOUNT_ADJUST_BALANCE = (
        "trading_account.adjust_balance",
        "Balance operation on a trading account",
    )
    PLATFORM_COMMAND_RETRY = "platform_command.retry", "Platform command retried now"
    PLATFORM_COMMAND_CANCEL = "platform_command.cancel", "Platform command cancelled"
    # challenges
    CHALLENGE_CREATE = "challenge.create", "Challenge created"
    CHALLENGE_DRAFT = "challenge.draft", "Challenge draft saved"
    CHALLENGE_PUBLISH = "challenge.publish", "Challenge published"
    CHALLENGE_END = "challenge.end", "Challenge ended"
    CHALLENGE_ALERTS = "challenge.alerts", "Challenge alerts changed"
    STAGE_ADVANCE = "stage.advance", "Stage advanced by staff"
    STAGE_REINSTATE = "stage.reinstate", "Stage reinstated"
    STAGE_RETRY = "stage.retry", "Stage set aside watched again"
    PARTICIPATION_CANCEL = "participation.cancel", "Participation cancelled"
    # challenges: IB commission
    COMMISSION_SCHEME_SAVE = "commission_scheme.save", "Commission scheme saved"
    IB_SCHEME_SET = "ib_scheme.set", "IB's commission scheme set"
    COMMISSION_REVERSE = "commission.reverse", "IB commission reversed"
    COMMISSION_SETTLEMENT_CREATE = "commission_settlement.create", "IB commission settlement made"
    # growth: coupons
    COUPON_CREATE = "coupon.create", "Coupon created"
    COUPON_UPDATE = "coupon.update", "Coupon changed"
    COUPON_DISABLE = "coupon.disable", "Coupon disabled"
    COUPON_ENABLE = "coupon.enable", "Coupon enabled"
    # growth: promotional links
    PROMO_LINK_CREATE = "promo_link.create", "Promotional link created"
    PROMO_LINK_UPDATE = "promo_link.update", "Promotional link changed"
    PROMO_LINK_DISABLE = "promo_link.disable", "Promotional link disabled"
    PROMO_LINK_ENABLE = "promo_link.enable", "Promotional link enabled"
    # notifications: outbound webhooks
    WEBHOOK_ENDPOINT_CREATE = "webhook_endpoint.create", "Webhook endpoint added"
    WEBHOOK_ENDPOINT_UPDATE = "webhook_endpoint.update", "Webhook endpoint changed"
    WEBHOOK_ENDPOINT_ROTATE_SECRET = (
        "webhook_endpoint.rotate_secret",
        "Webhook endpoint's signing secret rotated",
    )
    WEBHOOK_ENDPOINT_TEST = "webhook_endpoint.test", "Test event sent to a webhook endpoint"
    WEBHOOK_DELIVERY_REDELIVER = "webhook_delivery.redeliver", "Webhook delivery sent again"
    # notifications: the firm's templates (Settings > Notifications)
    NOTIFICATION_TEMPLATE_SAVE = "notification_template.save", "Notification template saved"
    NOTIFICATION_TEMPLATE_RESET = (
        "notification_template.reset",
        "Notification template reset to the default",
    )
    # background jobs
    JOB_RETRY = "job.retry", "Background job retried"
    JOB_DISMISS = "job.dismiss", "Background job dismissed"

    @property
    def verb(self) -> str:
        """What was done, without the object: `reinstate` for `stage.reinstate`."""
        return self.value.partition(".")[2]


def record(
    *,
    actor: User | None,
    action: AuditAction,
    object_type: str,
    object_id: object,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditRecord:
    if not isinstance(action, AuditAction):
        raise TypeError(f"an audit action is an AuditAction member, not {action!r}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit records are written inside the acting transaction")
    return AuditRecord.objects.create(
        actor=actor,
        actor_label=actor.email if actor is not None else SYSTEM,
        action=action.value,
        object_type=object_type,
        object_id=str(object_id),
        summary=summary[:500],
        before=before,
        after=after,
    )


_ENCODER = DjangoJSONEncoder()


def snapshot(obj: object, fields: Iterable[str], /, **extra: Any) -> dict[str, Any]:
    """The named fields of `obj`, then `extra`, as the audit record keeps them: an amount as
    its decimal text, a date or time in ISO form (as the record's JSON encoder writes it), a
    choice as its value, a foreign key as the related row's id. Comparing two snapshots
    compares what the record would show."""
    taken = {name: _field_value(obj, name) for name in fields}
    taken.update(extra)
    return {name: json_safe(value) for name, value in taken.items()}


def _field_value(obj: object, name: str) -> Any:
    if isinstance(obj, models.Model):
        try:
            field = obj._meta.get_field(name)
        except FieldDoesNotExist:  # a property or a plain attribute
            field = None
        if isinstance(field, models.ForeignKey):  # a one-to-one field too
            return getattr(obj, field.attname)  # the id, without fetching the row
    return getattr(obj, name)


def json_safe(value: Any) -> Any:
    """`value` as JSON keeps it: containers walked, anything JSON has no type for written as
    DjangoJSONEncoder writes it (Decimal, date, time, timedelta, UUID)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Enum):
        return json_safe(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, models.Model):
        return json_safe(value.pk)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(json_safe(v) for v in value)
    return _ENCODER.default(value)
