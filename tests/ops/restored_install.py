"""What a client of a restored install sees, read in a process of its own against that install
(its DATABASE_URL, PROPDESK_PRIVATE_DIR and keys come from the environment): the client logs in
through the login page and downloads their KYC documents through the portal, which checks each
file's SHA-256 against the one recorded at upload. Prints a JSON object.

    python -m tests.ops.restored_install EMAIL PASSWORD
"""

from __future__ import annotations

import hashlib
import json
import sys

from propdesk.processes import setup_django


def look(email: str, password: str) -> dict[str, object]:
    setup_django()
    from django.test import Client as Browser

    from propdesk.accounts.models import User
    from propdesk.core import vault
    from propdesk.onboarding.models import KycDocument
    from propdesk.platforms.models import TradingServer

    browser = Browser()
    login = browser.post("/login/", {"email": email, "password": password})
    user = User.objects.select_related("client").get(email=email)
    documents = {}
    for document in KycDocument.objects.filter(submission__client=user.client):
        response = browser.get(f"/documents/kyc/{document.token}/")
        body = b"".join(response.streaming_content) if response.status_code == 200 else b""
        documents[document.original_name] = {
            "status": response.status_code,
            "sha256": hashlib.sha256(body).hexdigest(),
        }
    return {
        "login_status": login.status_code,
        "login_to": login.get("Location", ""),
        "client": user.client.name,
        "kyc": [s.reference for s in user.client.kyc_submissions.all()],
        "documents": documents,
        "api_keys": [
            vault.open_sealed(s.sealed_api_key)
            for s in TradingServer.objects.exclude(sealed_api_key="")
        ],
    }


if __name__ == "__main__":
    print(json.dumps(look(sys.argv[1], sys.argv[2])))
