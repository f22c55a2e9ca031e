"""The back office's home, the approval queues and review pages, Settings > Approval methods."""

from django.urls import path

from propdesk.approvals import backoffice

# Under /backoffice/.
backoffice_urls = [
    path("", backoffice.home, name="dashboard"),
    path("approvals/", backoffice.queue, {"scope": "todo"}, name="approvals_todo"),
    path("approvals/all/", backoffice.queue, {"scope": "all"}, name="approvals_all"),
    path("approvals/queue/<slug:scope>/", backoffice.queue, name="approvals_queue"),
    path("approvals/<int:request_id>/", backoffice.review, name="approval_review"),
    path("approvals/<int:request_id>/approve/", backoffice.approve, name="approval_approve"),
    path("approvals/<int:request_id>/reject/", backoffice.reject, name="approval_reject"),
    path("approvals/<int:request_id>/note/", backoffice.add_note, name="approval_note"),
    path("settings/approval-methods/", backoffice.policies, name="policies"),
    path(
        "settings/approval-methods/<slug:type_key>/",
        backoffice.policy_edit,
        name="policy_edit",
    ),
]
