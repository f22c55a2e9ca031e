"""The fake's hosted WebSDK page (what SumSub's permalink opens,
https://docs.sumsub.com/reference/generate-websdk-external-link): the "applicant" submits their
documents, then the fake's own reviewer (a box marked as the fake's, not SumSub's) decides.

The real WebSDK takes pictures and runs checks; the fake takes a button press. A link that has
expired or is unknown shows an error page, as the real permalink does.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from propdesk.onboarding.vendors.fakes.sumsub.server import FakeSumsub

OUTCOMES: dict[str, dict[str, Any]] = {
    "green": {"reviewAnswer": "GREEN"},
    "retry": {
        "reviewAnswer": "RED",
        "reviewRejectType": "RETRY",
        "rejectLabels": ["BAD_PROOF_OF_IDENTITY"],
        "moderationComment": "The photo of the document is blurred. Please upload a sharp one.",
        "clientComment": "Blurred identity document.",
    },
    "final": {
        "reviewAnswer": "RED",
        "reviewRejectType": "FINAL",
        "rejectLabels": ["FORGERY"],
        "moderationComment": "We could not verify your identity.",
        "clientComment": "The document shows signs of forgery.",
    },
}


def _page(title: str, content: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body><main>"
        f"<h1>{html.escape(title)}</h1>{content}</main></body></html>"
    )


def handle(fake: FakeSumsub, method: str, path: str, body: bytes) -> tuple[int, str, str]:
    parts = path.strip("/").split("/")
    if len(parts) != 3 or parts[1] not in ("p", "sdk"):
        return 404, _page("Not found", "<p>No such page.</p>"), ""
    token = parts[2]
    link = fake.link(token)
    if link is None:
        return 404, _page("Link expired", "<p id='sumsub-error'>This link has expired.</p>"), ""
    applicant = fake._applicant_for(link["userId"], link["level"], email=link.get("email", ""))
    if method == "POST":
        form = parse_qs(body.decode(errors="replace"))
        action = (form.get("action") or [""])[0]
        from propdesk.onboarding.vendors.fakes.sumsub.server import ApiError

        try:
            if action == "submit":
                fake.submit_documents(applicant["id"])
            elif action in OUTCOMES and applicant["review"]["reviewStatus"] == "pending":
                outcome: dict[str, Any] = dict(OUTCOMES[action])
                comment = (form.get("comment") or [""])[0].strip()
                if comment and action != "green":
                    outcome["moderationComment"] = comment[:500]
                fake.review(applicant["id"], outcome)
        except ApiError as refused:
            return 409, _page("Not possible", f"<p>{html.escape(refused.description)}</p>"), ""
        return 303, "", path
    return 200, _page("Identity verification (fake SumSub)", _body(applicant, link)), ""


def _body(applicant: dict[str, Any], link: dict[str, Any]) -> str:
    review = applicant["review"]
    status = review["reviewStatus"]
    result = review.get("reviewResult") or {}
    back = link.get("successUrl", "")
    back_link = f"<p><a id='sumsub-back' href='{html.escape(back)}'>Back to the site</a></p>"
    out = [f"<p>Status: <strong id='sumsub-status'>{html.escape(status)}</strong></p>"]
    can_submit = status == "init" or (
        status == "completed" and result.get("reviewRejectType") == "RETRY"
    )
    if result:
        answer = " ".join(filter(None, (result["reviewAnswer"], result.get("reviewRejectType"))))
        out.append(f"<p>Result: <strong id='sumsub-answer'>{html.escape(answer)}</strong></p>")
        if result.get("moderationComment"):
            out.append(f"<p>{html.escape(result['moderationComment'])}</p>")
    if can_submit:
        out.append(
            "<form method='post'><p>Upload your identity document and a selfie.</p>"
            "<input type='hidden' name='action' value='submit'>"
            "<button type='submit' id='sumsub-submit'>Submit documents</button></form>"
        )
    elif status == "pending":
        out.append("<p>Your documents are being checked.</p>")
        out.append(
            "<section id='fake-reviewer'><h2>The fake's reviewer (not part of SumSub)</h2>"
            "<form method='post'><label>Comment for the applicant "
            "<input name='comment'></label> "
            "<button name='action' value='green' id='review-green'>GREEN</button> "
            "<button name='action' value='retry' id='review-retry'>RED, may retry</button> "
            "<button name='action' value='final' id='review-final'>RED, final</button>"
            "</form></section>"
        )
    if back:
        out.append(back_link)
    return "".join(out)
