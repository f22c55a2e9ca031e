"""compose.yaml's services, run as the processes their containers would run, with the env file
an operator starts from, and a firm going live on them over HTTP.

Docker is not on every machine that runs the suite, so the test reads what Docker would:
compose.yaml (each service's command and env file), deploy/propdesk.env.example (what an
operator copies to deploy/propdesk.env, the file compose.yaml names) and the Dockerfile (the
entrypoint, the image's environment, the health check). It then runs `migrate` to its end,
creates the first administrator as docs/operations.md says, starts `web`, `worker` and
`monitor` as real processes of `propdesk` from this virtualenv, and waits until the image's
health check passes and /readyz sees the worker and the monitor. Then the go-live guide, through
the client a firm generates from the OpenAPI (tests/api/go_live.py): registration, KYC, a bank
deposit, a challenge bought from the wallet, its account opened by the running worker, the
stage passed (advanced by staff: the running monitor would pass it at the day's close), the
live step and its account, the fee in the report. Also: the worker sent the trader's emails,
web served the static files collected beforehand untouched, no process printed a traceback, and
each stopped with 0 on SIGTERM, as `docker compose stop` sends.

Only what must point at this machine is changed, each for its reason:

- DATABASE_URL: a database of the test's own (the env file names compose's `postgres`); on
  SQLite runs, one SQLite file the processes share.
- PROPDESK_EVENT_LOG: the NATS server of this machine (the env file names compose's `nats`),
  with a stream of the test's own (PROPDESK_EVENT_STREAM), dropped after.
- PROPDESK_VAR_DIR, PROPDESK_STATIC_DIR, HOME and PROMETHEUS_MULTIPROC_DIR: folders of the
  test's own instead of the image's volume and folders and web's in-memory one. The static
  files are collected beforehand and made read-only, as the image's build does.
- web's --host and --port: 127.0.0.1 (nothing outside this machine reaches a test server) and a
  free port.

The production settings of the env file stay as they are, HTTPS included: the test speaks to
web through a stand-in for the firm's TLS proxy, which sets Host, X-Forwarded-Proto and
X-Real-IP as the nginx example of docs/deployment.md does.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path
from types import ModuleType

import pytest

from propdesk.api import api as propdesk_api
from propdesk.cli import PASSTHROUGH, build_parser
from propdesk.platforms import natslog
from tests.api import go_live
from tests.conftest import NATS_URL
from tests.onboarding.factories import png_bytes
from tests.ops.compose_processes import (
    ROOT,
    Processes,
    ProxyStandIn,
    compose_services,
    cookies_set,
    count_rows,
    env_files,
    eventually,
    exchange,
    free_port,
    fresh_database,
    page,
    read_env_file,
    read_image,
    service_environment,
    wait_for,
    wait_for_text,
    with_option,
)

STAFF_EMAIL = "operator@firm.example"
STAFF_PASSWORD = "first-administrator-passphrase"
PENDING_COMMANDS = "SELECT count(*) FROM platforms_platformcommand WHERE status = 'pending'"

# What the go-live walk-through expects staff to have set up in the back office (*Settings >
# KYC*, *Settings > Payment methods*), done through the same use cases.
FIRM_SETUP = """
from propdesk.accounts.models import User
from propdesk.onboarding import kyc
from propdesk.wallet import deposits
staff = User.objects.get(email="{staff}")
kyc.save_form(
    None, name="Individual", description="For private persons", is_default=True,
    fields=[
        {{"key": "date_of_birth", "label": "Date of birth", "kind": "date"}},
        {{"key": "residence", "label": "Country of residence", "kind": "country"}},
    ],
    documents=[{{"key": "identity_document", "label": "Identity document"}}],
    actor=staff,
)
deposits.save_payment_method(
    None, name="Bank transfer", kind="offline", currencies=["USD"], min_amount="50",
    max_amount="10000", instructions="IBAN CZ65 0800 0000 1920 0014 5399", payout_to="bank",
    actor=staff,
)
"""

# The stage passed: here staff advance it by hand (*Prop Trading > Participants*, *Advance*), as
# a running monitor would pass it only at the day's close.
ADVANCE = """
from propdesk.accounts.models import User
from propdesk.challenges.models import Participation
from propdesk.challenges.participation import interventions
attempt = Participation.objects.get(pk={participation}).current_attempt()
interventions.advance(
    attempt.pk, actor=User.objects.get(email="{staff}"), reason="Passed for the go-live check"
)
"""


def https_as_the_env_file_says(web: str, proxy: str, host: str) -> None:
    """The env file's HTTPS settings trust what the nginx example sends: a request that did not
    come through the proxy is sent to https://; answers through it carry HSTS, and a login sets
    a session cookie for HTTPS only."""
    status, headers, _ = exchange(web, "GET", "/login/", {"Host": host})
    assert status == 301
    assert dict(headers)["Location"] == f"https://{host}/login/"

    status, headers, text = exchange(proxy, "GET", "/login/", {})
    assert status == 200
    assert "max-age=" in dict(headers)["Strict-Transport-Security"]
    csrf_cookie = cookies_set(headers)["csrftoken"]
    assert "Secure" in csrf_cookie
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text)
    assert token is not None, text
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token[1], "email": STAFF_EMAIL, "password": STAFF_PASSWORD}
    )
    status, headers, _ = exchange(
        proxy,
        "POST",
        "/login/",
        {
            "Cookie": csrf_cookie.split(";", 1)[0],
            "Origin": f"https://{host}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        form.encode(),
    )
    assert status == 302, status
    session = cookies_set(headers)["sessionid"]
    assert "Secure" in session
    assert "HttpOnly" in session


def test_every_propdesk_command_of_the_compose_file_parses():
    """A command the image's `propdesk` would refuse fails here, not at a firm's first start."""
    services = compose_services()
    ours = {name: s for name, s in services.items() if "build" in s}  # the image's services
    assert {"migrate", "web", "worker", "monitor", "feed"} <= set(ours)
    parser = build_parser()
    for name, service in ours.items():
        command = [str(part) for part in service["command"]]
        if command[0] == "manage":
            assert ("manage",) in PASSTHROUGH, name  # Django's own arguments, handed over
            continue
        parser.parse_args(command)  # SystemExit(2) with argparse's message on a bad one


@pytest.fixture(scope="session")
def generated_client(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The client a firm generates from the schema the server publishes (tests/api/go_live.py),
    once per session."""
    schema = propdesk_api.get_openapi_schema()
    return go_live.generate_client(schema, tmp_path_factory.mktemp("generated_client"))


def test_the_compose_services_run_with_the_env_file_and_a_firm_goes_live_on_them(
    tmp_path, settings, generated_client
):
    services = compose_services()
    image = read_image()
    named = {
        env for name in ("migrate", "web", "worker", "monitor") for env in env_files(services[name])
    }
    assert named == {ROOT / "deploy" / "propdesk.env"}
    settings_file = read_env_file(ROOT / "deploy" / "propdesk.env.example")
    bin_dir = Path(sys.executable).parent

    def argv(service: str, *command: str) -> list[str]:
        """The container's command line: the image's entrypoint, then the service's command
        (or the one given, as `docker compose exec`/`run` would)."""
        first, *more = image.entrypoint
        return [str(bin_dir / first), *more, *(command or services[service]["command"])]

    var, static = tmp_path / "var", tmp_path / "static"
    var.mkdir()
    stream = f"T_{uuid.uuid4().hex[:16].upper()}"
    port = free_port()
    processes = Processes(tmp_path)
    proxy = None
    with fresh_database(tmp_path) as database_url:
        here = {  # what must point at this machine (the module's docstring says why)
            "DATABASE_URL": database_url,
            "PROPDESK_EVENT_LOG": NATS_URL,
            "PROPDESK_EVENT_STREAM": stream,
            "PROPDESK_VAR_DIR": str(var),
            "PROPDESK_STATIC_DIR": str(static),
            "HOME": str(var),
        }

        def env_for(service: str) -> dict[str, str]:
            """The container's environment: the image's, the env file, the service's own."""
            env = {
                "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                "LANG": "C.UTF-8",
                **{k: v for k, v in image.env.items() if k != "PATH"},
                **settings_file,
                **service_environment(services[service]),
                **here,
            }
            if "PROMETHEUS_MULTIPROC_DIR" in env:  # a tmpfs of the container
                folder = tmp_path / f"metrics-{service}"
                folder.mkdir(exist_ok=True)
                env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
            return env

        try:
            # The image's build collects the static files; compose runs migrate first.
            collect = subprocess.Popen(
                argv("web", "manage", "collectstatic", "--noinput", "--verbosity", "0"),
                env={**env_for("web"), "PROPDESK_VAR_DIR": str(tmp_path / "build")},
            )
            migrated = subprocess.run(
                argv("migrate"), env=env_for("migrate"), capture_output=True, text=True, timeout=300
            )
            assert migrated.returncode == 0, migrated.stdout + migrated.stderr
            assert collect.wait(timeout=300) == 0
            for folder in [static, *static.rglob("*")]:
                folder.chmod(folder.stat().st_mode & ~0o222)  # the image's files: read-only
            collected = (static / "staticfiles.json").stat().st_mtime_ns

            created = subprocess.run(
                argv(
                    "web", "staff", "create", "--email", STAFF_EMAIL, "--role", "Administrator",
                    "--password", STAFF_PASSWORD,
                ),
                env=env_for("web"), capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert created.returncode == 0, created.stderr

            web = argv("web")
            assert {"--no-worker", "--no-monitor"} <= set(web)  # they run on their own
            web = with_option(with_option(web, "--host", "127.0.0.1"), "--port", str(port))
            processes.start("web", web, env_for("web"))
            worker = processes.start("worker", argv("worker"), env_for("worker"))
            processes.start("monitor", argv("monitor"), env_for("monitor"))
            host = settings_file["PROPDESK_ALLOWED_HOSTS"].split(",")[0]
            proxy = ProxyStandIn(port, host)  # the nginx example's headers, fixed

            wait_for(proxy.url, "/healthz", processes=processes)
            # The image's health check, as Docker runs it inside the web container.
            probe = [sys.executable, *image.healthcheck[1:]]
            probe[-1] = probe[-1].replace(":8000/", f":{port}/")
            checked = subprocess.run(probe, env=env_for("web"), capture_output=True, text=True)
            assert checked.returncode == 0, checked.stderr
            wait_for(proxy.url, "/readyz", processes=processes)  # the worker and the monitor seen
            https_as_the_env_file_says(f"http://127.0.0.1:{port}", proxy.url, host)

            def shell(code: str) -> None:
                """`docker compose exec web propdesk manage shell -c CODE`."""
                done = subprocess.run(
                    argv("web", "manage", "shell", "--verbosity", "0", "--command", code),
                    env=env_for("web"), capture_output=True, text=True, timeout=120,
                )  # fmt: skip
                assert done.returncode == 0, done.stdout + done.stderr

            def carried_out() -> None:
                """The running worker has carried out every platform command due."""
                eventually(
                    lambda: count_rows(database_url, PENDING_COMMANDS) == 0,
                    processes=processes,
                    what="the worker carrying out the platform commands",
                )

            shell(FIRM_SETUP.format(staff=STAFF_EMAIL))  # what staff set up in the back office
            went = go_live.walk_through(
                generated_client,
                proxy.url,
                go_live.GoLive(
                    staff_email=STAFF_EMAIL,
                    staff_password=STAFF_PASSWORD,
                    document=("passport.png", png_bytes(), "image/png"),
                    carry_out_commands=carried_out,
                    pass_stage=lambda joined: shell(
                        ADVANCE.format(participation=joined, staff=STAFF_EMAIL)
                    ),
                ),
            )
            # The worker sent the trader their emails (the console backend writes them to its
            # output, as the env file leaves email unset).
            wait_for_text(worker.log, went.trader_email, processes=processes)
            processes.check_alive()
            assert processes.with_tracebacks() == {}
            # web served the files collected beforehand, as they were.
            status, login = page(proxy.url, "/login/")
            assert status == 200
            stylesheet = re.search(r'href="(/static/propdesk\.[0-9a-f]+\.css)"', login)
            assert stylesheet is not None, login
            assert page(proxy.url, stylesheet[1])[0] == 200
            assert (static / "staticfiles.json").stat().st_mtime_ns == collected
        finally:
            if proxy is not None:
                proxy.close()
            codes = processes.stop()
            settings.EVENT_LOG = NATS_URL
            natslog.delete_stream(stream)
    # Each stopped cleanly on SIGTERM, as on `docker compose stop`.
    assert codes == {"web": 0, "worker": 0, "monitor": 0}
