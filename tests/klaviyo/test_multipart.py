"""Uploading an image from a file: the file travels as content (bytes, base64 text, a file object)."""

from __future__ import annotations

import base64
import io

import httpx
import pytest

from codemode.klaviyo import Klaviyo, ValidationError
from codemode.klaviyo._multipart import MAX_FILE_BYTES

from .conftest import KEY

GIF = b"GIF89a" + b"\x01\x00\x01\x00" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def _client(seen: list[httpx.Request]) -> Klaviyo:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            201, json={"data": {"type": "image", "id": "img1", "attributes": {"name": "x"}}}
        )

    return Klaviyo(api_key=KEY, http_client=httpx.Client(transport=httpx.MockTransport(handler)))


@pytest.mark.parametrize(
    "content",
    [
        GIF,
        base64.b64encode(GIF).decode(),
        "data:image/gif;base64," + base64.b64encode(GIF).decode(),
        io.BytesIO(GIF),
    ],
    ids=["bytes", "base64", "data-url", "file-object"],
)
def test_upload_image_from_file_sends_the_same_gif_part_from_any_content_form(
    content: object,
) -> None:
    seen: list[httpx.Request] = []
    result = _client(seen).images.upload_image_from_file(file=content, name="banner")  # type: ignore[arg-type]
    assert result.status == 201 and result.data["id"] == "img1"
    (request,) = seen
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'filename="banner.gif"' in request.content
    assert b"Content-Type: image/gif\r\n\r\n" + GIF + b"\r\n" in request.content
    assert request.headers["authorization"] == f"Klaviyo-API-Key {KEY}"


def test_a_name_with_an_extension_is_kept_as_the_file_name() -> None:
    seen: list[httpx.Request] = []
    _client(seen).images.upload_image_from_file(file=JPEG, name="hero.jpeg")
    assert b'filename="hero.jpeg"' in seen[0].content and b"image/jpeg" in seen[0].content


def test_the_dry_run_form_summarises_the_file_instead_of_carrying_it() -> None:
    prepared = Klaviyo(api_key=KEY).prepare("upload_image_from_file", file=GIF, hidden=True)
    described = prepared.to_dict()
    assert described["form"] == {"file": f"<{len(GIF)} bytes image/gif>", "hidden": True}
    assert described["json"] is None and "Authorization" not in described["headers"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("/home/me/logo.png", "not base64"),
        ("", "is empty"),
        (b"%PDF-1.7 not an image", "not a JPEG, PNG or GIF"),
        (b"GIF89a" + b"\x00" * MAX_FILE_BYTES, "up to 5 MB"),
        (12345, "bytes, base64 text or a binary file object"),
        (io.StringIO("text"), "open it with 'rb'"),
    ],
    ids=["a-path", "empty", "pdf", "too-big", "number", "text-file"],
)
def test_bad_file_content_is_refused_before_sending_with_what_to_pass(
    content: object, message: str
) -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(ValidationError, match=message) as caught:
        _client(seen).images.upload_image_from_file(file=content)  # type: ignore[arg-type]
    assert caught.value.source == {"parameter": "file"}
    assert seen == []


def test_a_missing_file_names_the_field() -> None:
    with pytest.raises(ValidationError, match="missing required 'file'"):
        Klaviyo(api_key=KEY).prepare("upload_image_from_file", name="x")
