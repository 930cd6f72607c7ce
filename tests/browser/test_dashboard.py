import re

import pytest
from playwright.sync_api import Page, expect

from apps.jobs.models import Job, JobStatus
from apps.projects.models import ApiKey, Role
from tests.projects.factories import MembershipFactory, ProjectFactory, UserFactory


@pytest.fixture
def member(transactional_db):
    """`member(role)` → a new user who is a member of "Alpha Shop" (USD) with `role`."""

    def make(role: str = Role.OWNER, project_name: str = "Alpha Shop"):
        project = ProjectFactory(name=project_name, currency="USD")
        return MembershipFactory(project=project, role=role).user

    return make


def _mark_page(page: Page) -> None:
    """Tag the current document; a full page load loses the tag, an htmx swap keeps it."""
    page.evaluate("window.__noFullReload = true")


def _still_same_page(page: Page) -> bool:
    return page.evaluate("window.__noFullReload === true")


def test_login_and_switch_project(page: Page, log_in, transactional_db):
    user = UserFactory(email="dana@example.com")
    alpha = ProjectFactory(name="Alpha Shop", currency="USD")
    beta = ProjectFactory(name="Beta Store", currency="EUR")
    MembershipFactory(project=alpha, user=user, role=Role.OWNER)
    MembershipFactory(project=beta, user=user, role=Role.MARKETER)

    log_in(user)

    heading = page.get_by_role("heading", level=1)
    current = page.get_by_test_id("current-project")
    expect(heading).to_have_text("Alpha Shop")
    expect(current).to_have_text("Alpha Shop")
    expect(page.get_by_text("USD · UTC")).to_be_visible()

    switch_to_beta = page.locator(".dropdown-menu .dropdown-item", has_text="Beta Store")
    expect(switch_to_beta).to_be_hidden()
    page.locator("#project-switcher").click()  # Bootstrap's dropdown JS must work
    expect(switch_to_beta).to_be_visible()
    expect(switch_to_beta).to_contain_text("EUR")
    switch_to_beta.click()

    expect(heading).to_have_text("Beta Store")
    expect(current).to_have_text("Beta Store")
    expect(page.get_by_text("EUR · UTC")).to_be_visible()
    expect(page.locator("#user-menu")).to_contain_text("Marketer")

    # The choice sticks in the session: a fresh load still shows Beta Store.
    page.reload()
    expect(heading).to_have_text("Beta Store")
    expect(current).to_have_text("Beta Store")


def test_wrong_password_stays_on_login_page(page: Page, live_server, member):
    user = member()

    page.goto("/accounts/login/")
    page.locator("#id_username").fill(user.email)
    page.locator("#id_password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_contain_text(
        "Your email and password didn't match. Please try again."
    )
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.locator("#id_username")).to_have_value(user.email)
    expect(page.locator("#user-menu")).to_have_count(0)

    # Not logged in: the dashboard still sends us back to the login page.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))


def test_marketer_pings_the_worker_without_page_reload(page: Page, log_in, member):
    user = member(Role.MARKETER)
    log_in(user)

    page.goto("/jobs/")
    results = page.locator("#job-results")
    expect(results).to_contain_text("No jobs yet.")
    _mark_page(page)

    page.get_by_role("button", name="Ping the worker").click()

    done = results.locator('[data-status="DONE"]')
    expect(done).to_have_count(1)
    expect(done).to_have_text("Done")
    job = Job.objects.get()
    assert job.status == JobStatus.DONE
    assert job.result["pong"] is True
    expect(page.locator(f"#job-{job.public_id}-row")).to_contain_text("ping")
    expect(page.locator("#messages")).to_contain_text(f"Ping job {job.public_id} enqueued.")
    assert _still_same_page(page), "the ping reloaded the whole page instead of swapping htmx"


def test_owner_sees_new_api_key_secret_only_once(page: Page, log_in, member):
    user = member(Role.OWNER)
    log_in(user)

    page.goto("/settings/api-keys/")
    expect(page.locator("#api-keys")).to_contain_text("No keys yet.")
    _mark_page(page)

    page.locator("#id_name").fill("Checkout backend")
    page.locator("#id_kind").select_option("server")
    page.get_by_role("button", name="Create key").click()

    token_el = page.locator("#new-token")
    expect(token_el).to_be_visible()
    token = token_el.inner_text().strip()
    app_id = page.locator("#new-app-id").inner_text().strip()
    assert token, "the new token is empty"
    assert app_id, "the new app id is empty"
    assert _still_same_page(page), "creating a key reloaded the whole page instead of an htmx swap"

    key = ApiKey.objects.get()
    assert key.name == "Checkout backend"
    assert key.kind == "server"
    assert key.app_id == app_id
    assert token.endswith(key.secret_hint)
    expect(page.locator(f"#key-{key.public_id}-row")).to_contain_text("Checkout backend")
    assert page.content().count(token) == 1, "the token should be shown exactly once"

    page.reload()

    expect(page.locator(f"#key-{key.public_id}-row")).to_contain_text(app_id)
    expect(page.locator("#new-token")).to_have_count(0)
    expect(page.locator("#new-secret")).to_have_count(0)
    assert token not in page.content(), "the secret token is still in the page after a reload"


def test_viewer_cannot_ping_the_worker(page: Page, log_in, member, live_server):
    user = member(Role.VIEWER)
    log_in(user)

    page.goto("/jobs/")
    expect(page.get_by_role("heading", name="Jobs", level=1)).to_be_visible()
    expect(page.locator("#job-results")).to_be_visible()
    expect(page.get_by_role("button", name="Ping the worker")).to_have_count(0)

    # And the server refuses the POST itself, with a valid CSRF token and session.
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        "/jobs/ping/", headers={"X-CSRFToken": csrf, "Referer": f"{live_server.url}/jobs/"}
    )
    assert response.status == 403
    assert "This needs the marketer role." in response.text()  # not a CSRF failure
    assert not Job.objects.exists()


def test_anonymous_settings_visit_lands_on_login(page: Page, live_server):
    page.goto("/settings/")

    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/settings/")
    expect(page.locator("#id_username")).to_be_visible()
    expect(page.locator("#id_password")).to_be_visible()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.locator("#project-switcher")).to_have_count(0)


def test_the_navigation_fits_a_1280_pixel_window_and_the_data_menu_opens(
    page: Page, log_in, member
):
    log_in(member(Role.OWNER))
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.get_by_role("button", name="Data").click()
    page.get_by_role("link", name="Exports").click()
    expect(page).to_have_url(re.compile(r"/exports/$"))
    expect(page.get_by_role("button", name="Data")).to_have_class(re.compile("active"))
