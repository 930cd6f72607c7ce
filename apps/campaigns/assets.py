"""A voucher's QR code and barcode: the images, and signed links that open them for anyone.

An asset is served to a member of the voucher's project, to anyone holding a signed link, or to
anyone at all when the project made its assets public. A signed link signs the voucher's public
id with a salt per asset kind, so a QR link cannot be turned into a barcode link; signatures
carry no timestamp and are stable (the same link each time), as Voucherify's asset URLs are.

Images are drawn without Pillow: segno writes both SVG and PNG itself, python-barcode's
SVGWriter draws Code 128 as SVG (so barcodes are SVG only).
"""

import io
from urllib.parse import urlencode

import barcode
import segno
from barcode.errors import BarcodeError
from barcode.writer import SVGWriter
from django.core import signing
from django.urls import reverse

QR = "qr"
BARCODE = "barcode"
KINDS = (QR, BARCODE)
FORMATS = {QR: ("svg", "png"), BARCODE: ("svg",)}
CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
SIGNATURE_PARAM = "sig"
# What asset_urls hands to the API: PNG for QR codes (mail clients show it), SVG for barcodes.
API_FORMATS = {QR: "png", BARCODE: "svg"}


class AssetError(ValueError):
    """The code cannot be drawn in that kind or format (e.g. a non-ASCII code as Code 128)."""


def _signer(kind: str) -> signing.Signer:
    return signing.Signer(salt=f"campaigns.voucher_asset.{kind}")


def sign(kind: str, voucher_public_id: str) -> str:
    """The signature of a voucher's asset of `kind` (stable: no timestamp)."""
    return _signer(kind).signature(voucher_public_id)


def signature_valid(kind: str, voucher_public_id: str, signature: str | None) -> bool:
    if not signature or kind not in KINDS:
        return False
    signer = _signer(kind)
    try:
        return signer.unsign(f"{voucher_public_id}{signer.sep}{signature}") == voucher_public_id
    except signing.BadSignature:
        return False


def asset_url(kind: str, voucher, *, fmt: str | None = None, request=None, signed=True) -> str:
    """The URL of one asset; absolute when a request is given, signed unless told not to."""
    fmt = fmt or API_FORMATS[kind]
    name = "campaigns:voucher_qr" if kind == QR else "campaigns:voucher_barcode"
    url = reverse(name, kwargs={"voucher_id": voucher.public_id, "fmt": fmt})
    if signed:
        url += "?" + urlencode({SIGNATURE_PARAM: sign(kind, voucher.public_id)})
    return request.build_absolute_uri(url) if request is not None else url


def asset_urls(voucher, request=None) -> dict[str, str]:
    """Signed, stable URLs of a voucher's QR code and barcode (Voucherify's `assets`)."""
    return {kind: asset_url(kind, voucher, request=request) for kind in KINDS}


def qr_image(code: str, fmt: str) -> bytes:
    """The code as a QR code (error correction M), SVG or PNG."""
    if fmt not in FORMATS[QR]:
        raise AssetError(f"QR codes come as {' or '.join(FORMATS[QR])}.")
    out = io.BytesIO()
    qr = segno.make(code, error="m", micro=False)
    if fmt == "svg":
        qr.save(out, kind="svg", scale=8, border=2, xmldecl=False, title=code)
    else:
        qr.save(out, kind="png", scale=8, border=2)
    return out.getvalue()


def barcode_image(code: str, fmt: str = "svg") -> bytes:
    """The code as a Code 128 barcode (SVG), with the code written under the bars."""
    if fmt not in FORMATS[BARCODE]:
        raise AssetError("Barcodes come as svg only.")
    try:
        drawing = barcode.get("code128", code, writer=SVGWriter())
        out = io.BytesIO()
        drawing.write(out, options={"module_height": 15.0, "font_size": 8, "text_distance": 4.0})
    except (BarcodeError, UnicodeError, ValueError) as exc:
        raise AssetError(f"{code!r} cannot be drawn as a Code 128 barcode.") from exc
    return out.getvalue()


def render(kind: str, code: str, fmt: str) -> bytes:
    if kind == QR:
        return qr_image(code, fmt)
    if kind == BARCODE:
        return barcode_image(code, fmt)
    raise AssetError(f"Unknown asset kind {kind}.")
