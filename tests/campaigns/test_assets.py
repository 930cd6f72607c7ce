import re
from urllib.parse import urlsplit

import pytest
import segno
from barcode.charsets.code128 import CODES, START_CODES
from django.urls import reverse

from apps.campaigns import assets
from apps.projects.models import Role
from tests.campaigns.factories import VoucherFactory
from tests.projects.factories import MembershipFactory, ProjectFactory

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def qr_url(voucher, fmt="svg"):
    return reverse("campaigns:voucher_qr", kwargs={"voucher_id": voucher.public_id, "fmt": fmt})


def barcode_url(voucher, fmt="svg"):
    return reverse(
        "campaigns:voucher_barcode", kwargs={"voucher_id": voucher.public_id, "fmt": fmt}
    )


def qr_path(svg: bytes) -> str:
    return re.search(rb'<path[^>]* d="([^"]+)"', svg).group(1).decode()


def modules_from_svg(svg: bytes, border: int = 2) -> list[list[int]]:
    """Decode segno's path (one horizontal line per run of dark modules) into a 0/1 matrix."""
    dark, x, y = set(), 0.0, 0.0
    for op, args in re.findall(r"([MmHhVv])([^MmHhVv]*)", qr_path(svg)):
        numbers = [float(n) for n in re.findall(r"-?[\d.]+", args)]
        if op == "M":
            x, y = numbers
        elif op == "m":
            x, y = x + numbers[0], y + numbers[1]
        elif op == "h":
            for column in range(int(x), int(x + numbers[0])):
                dark.add((int(y), column))
            x += numbers[0]
    end = max(max(r, c) for r, c in dark) + 1  # the symbol's last row and column are dark
    return [[int((r, c) in dark) for c in range(border, end)] for r in range(border, end)]


def decode_code128(svg: bytes) -> str:
    """Read a Code 128 SVG back: bars -> modules -> 11-module symbols -> text (sets A/B/C)."""
    bars = [
        (float(x), float(width))
        for x, width in re.findall(rb'<rect x="([\d.]+)mm" y="[^"]+" width="([\d.]+)mm"', svg)
    ]
    module = min(width for _, width in bars)
    start = bars[0][0]
    bits = []
    for x, width in bars:
        first = round((x - start) / module)
        bits += ["0"] * (first - len(bits)) + ["1"] * round(width / module)
    symbols = ["".join(bits[i : i + 11]) for i in range(0, len(bits) - 13, 11)]
    values = [CODES.index(symbol) for symbol in symbols]
    charset = {v: k for k, v in START_CODES.items()}[values[0]]
    text = ""
    for value in values[1:-1]:  # the last one is the checksum
        if value in (99, 100, 101):
            charset = {99: "C", 100: "B", 101: "A"}[value]
        elif charset == "C":
            text += f"{value:02d}"
        elif charset == "B" or value < 64:
            text += chr(value + 32)
        else:
            text += chr(value - 64)
    return text


@pytest.fixture
def voucher(project):
    return VoucherFactory(campaign__project=project, code="SPRING-2026")


# the images ------------------------------------------------------------------------------------


def test_qr_svg_draws_the_code(owner_client, voucher):
    response = owner_client.get(qr_url(voucher))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    # the drawn modules are exactly the QR symbol of this code, and not of another one
    drawn = modules_from_svg(response.content)
    assert drawn == [list(row) for row in segno.make("SPRING-2026", error="m", micro=False).matrix]
    assert drawn != [list(row) for row in segno.make("SPRING-2027", error="m", micro=False).matrix]
    assert b"<title>SPRING-2026</title>" in response.content


def test_qr_png_is_a_png(owner_client, voucher):
    response = owner_client.get(qr_url(voucher, "png"))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(PNG_SIGNATURE)


def test_barcode_svg_is_code128_of_the_code(owner_client, voucher):
    response = owner_client.get(barcode_url(voucher))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert decode_code128(response.content) == "SPRING-2026"
    assert b">SPRING-2026</text>" in response.content  # the human-readable line


def test_barcode_png_and_unknown_formats_404(owner_client, voucher):
    assert owner_client.get(barcode_url(voucher, "png")).status_code == 404
    assert owner_client.get(qr_url(voucher, "gif")).status_code == 404


def test_a_code_code128_cannot_draw_404s_instead_of_failing(owner_client, project):
    voucher = VoucherFactory(campaign__project=project, code="ZAŻÓŁĆ")

    assert owner_client.get(barcode_url(voucher)).status_code == 404
    assert owner_client.get(qr_url(voucher)).status_code == 200


def test_images_are_cached_privately_for_a_day(owner_client, voucher):
    response = owner_client.get(qr_url(voucher))

    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert directives == {"private", "max-age=86400"}
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response["Content-Security-Policy"]


# who may see them ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OWNER])
def test_members_of_the_project_see_images(member_client, voucher, role):
    client = member_client(role)

    assert client.get(qr_url(voucher)).status_code == 200
    assert client.get(barcode_url(voucher)).status_code == 200


def test_anonymous_without_signature_gets_404_not_a_login_redirect(client, voucher):
    assert client.get(qr_url(voucher)).status_code == 404
    assert client.get(barcode_url(voucher)).status_code == 404


def test_signed_urls_work_logged_out(client, voucher):
    urls = assets.asset_urls(voucher)

    qr = client.get(urls["qr"])
    barcode = client.get(urls["barcode"])

    assert qr.status_code == 200
    assert qr.content.startswith(PNG_SIGNATURE)
    assert barcode.status_code == 200
    assert b"SPRING-2026" in barcode.content


def test_signed_urls_are_stable_and_absolute_with_a_request(rf, voucher):
    request = rf.get("/", HTTP_HOST="testserver")

    first = assets.asset_urls(voucher, request)
    second = assets.asset_urls(voucher, request)

    assert first == second
    parts = urlsplit(first["qr"])
    assert (parts.scheme, parts.netloc) == ("http", "testserver")
    assert parts.path == qr_url(voucher, "png")
    assert parts.query.startswith("sig=")
    assert urlsplit(first["barcode"]).path == barcode_url(voucher, "svg")


def test_tampered_or_borrowed_signatures_404(client, project, voucher):
    signature = assets.sign(assets.QR, voucher.public_id)
    other = VoucherFactory(campaign__project=project)

    assert client.get(qr_url(voucher), {"sig": signature}).status_code == 200
    # a changed signature, another voucher's signature, another kind's signature
    assert client.get(qr_url(voucher), {"sig": signature[:-1] + "x"}).status_code == 404
    assert client.get(qr_url(other), {"sig": signature}).status_code == 404
    assert client.get(barcode_url(voucher), {"sig": signature}).status_code == 404
    assert client.get(qr_url(voucher), {"sig": ""}).status_code == 404


def test_public_assets_project_serves_anyone(client, project, voucher):
    project.public_assets = True
    project.save(update_fields=["public_assets"])

    assert client.get(qr_url(voucher)).status_code == 200
    assert client.get(barcode_url(voucher)).status_code == 200


def test_member_of_another_project_gets_404_without_signature(client, voucher):
    # given a member of project B, logged in, and a voucher of project A
    outsider = MembershipFactory(project=ProjectFactory(name="B"), role=Role.OWNER).user
    client.force_login(outsider)

    # then A's images are not found for them, unless signed
    assert client.get(qr_url(voucher)).status_code == 404
    assert client.get(barcode_url(voucher)).status_code == 404
    assert client.get(assets.asset_urls(voucher)["qr"]).status_code == 200


def test_unknown_voucher_404s(owner_client):
    url = reverse("campaigns:voucher_qr", kwargs={"voucher_id": "v_nope", "fmt": "svg"})

    assert owner_client.get(url).status_code == 404


def test_admins_make_assets_public_on_the_settings_page(owner_client, project):
    settings_url = reverse("projects:settings")
    form = {"name": project.name, "currency": "USD", "time_zone": "UTC", "allowed_origins": ""}

    assert 'name="public_assets"' in owner_client.get(settings_url).content.decode()
    owner_client.post(settings_url, {**form, "public_assets": "on"})
    project.refresh_from_db()
    assert project.public_assets is True

    owner_client.post(settings_url, form)  # an unticked checkbox is not sent
    project.refresh_from_db()
    assert project.public_assets is False
