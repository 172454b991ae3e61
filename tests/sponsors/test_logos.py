"""A company uploads its logo: PNG, JPEG and WebP are decoded for real and written afresh without metadata,
an SVG is drawn on the server into a PNG, and hostile files (a script in an SVG, an XML bomb, a PNG that
claims 20,000 × 20,000 pixels, a JPEG that is also a web page, a 50 MB file) are refused with a clear
sentence or come out harmless. Nothing is stored for a refused upload.

Every file is built here, in memory: real images with Pillow, hostile ones byte by byte so they stay
small and fast."""

from __future__ import annotations

import io
import resource
import struct
import time
import zlib
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from sponsors.logos import logo_process
from sponsors.models import SponsorLogo
from sponsors.services import logo_upload
from tests.factories.sponsors import SponsorFactory

ACCEPTED = "Please upload the logo as PNG, JPEG, WebP or SVG."


# --- Files ----------------------------------------------------------------------------------------


def image_bytes(
    image_format: str, *, size=(400, 200), mode="RGBA", colour=(200, 30, 40, 255), **options
) -> bytes:
    output = io.BytesIO()
    Image.new(mode, size, colour if mode != "RGB" else colour[:3]).save(
        output, format=image_format, **options
    )
    return output.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header (with a valid CRC) says it is width × height black-and-white pixels."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit grey
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def upload(content: bytes, name: str = "logo.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def decoded(processed) -> Image.Image:
    processed.content.seek(0)
    image = Image.open(io.BytesIO(processed.content.read()))
    image.load()
    return image


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def assert_refused_and_nothing_stored(settings, file: SimpleUploadedFile, message: str) -> None:
    """The company sees ``message``; no logo row and no file is left behind."""
    with pytest.raises(ValidationError) as refused:
        logo_upload(sponsor=SponsorFactory(), upload=file)
    assert message in " ".join(refused.value.messages)
    assert not SponsorLogo.objects.exists()
    assert stored_files(settings) == []


SVG_HEAD = (
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
    'width="300" height="150" viewBox="0 0 300 150">'
)
SVG_WITH_SCRIPT = (
    SVG_HEAD + '<script type="text/javascript">alert("script in a logo")</script>'
    '<rect x="0" y="0" width="300" height="150" fill="#1a7f37" onload="alert(2)"/>'
    '<foreignObject width="100" height="100"><div xmlns="http://www.w3.org/1999/xhtml">'
    "<script>alert(3)</script></div></foreignObject></svg>"
).encode()

XML_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE svg [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<svg xmlns="http://www.w3.org/2000/svg" width="300" height="150"><text y="20">&lol9;</text></svg>
"""


# --- The cases of the issue -----------------------------------------------------------------------


def test_svg_with_script_is_drawn_into_a_png_without_the_script(db):
    processed = logo_process(upload(SVG_WITH_SCRIPT, "logo.svg", "image/svg+xml"))

    content = processed.content.read()
    assert processed.filename == "logo.png"
    assert processed.original_format == "svg"
    assert content.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"script" not in content.lower()
    assert b"alert" not in content
    image = Image.open(io.BytesIO(content))
    assert image.format == "PNG"
    assert image.size == (1200, 600)  # drawn at the largest side, in the SVG's proportions
    assert image.convert("RGB").getpixel((600, 300)) == (0x1A, 0x7F, 0x37)


def test_xml_bomb_svg_is_refused_and_nothing_stored(db, settings):
    started = time.monotonic()

    assert_refused_and_nothing_stored(
        settings, upload(XML_BOMB, "logo.svg", "image/svg+xml"), "The SVG file declares XML entities"
    )
    assert time.monotonic() - started < 2


def test_png_claiming_20000_by_20000_pixels_is_refused_quickly_and_nothing_stored(db, settings):
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    started = time.monotonic()

    assert_refused_and_nothing_stored(
        settings, upload(png_claiming_size(20_000, 20_000)), "far more pixels than we accept"
    )
    assert time.monotonic() - started < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 100_000  # < 100 MB more


def test_png_over_the_pixel_limit_is_refused_from_its_header_with_its_size(db, settings):
    assert_refused_and_nothing_stored(
        settings,
        upload(png_claiming_size(6000, 6000)),  # 36 megapixels, below Pillow's own bomb limit
        "The image is 6000 × 6000 pixels; the largest we accept is 25 megapixels.",
    )


def test_jpeg_that_is_also_a_web_page_comes_out_as_a_clean_image(db):
    jpeg = image_bytes("JPEG", mode="RGB", size=(400, 200), colour=(20, 60, 200, 255), quality=95)
    comment = b"<html><body><script>alert(document.cookie)</script>"
    polyglot = (
        jpeg[:2]  # start of image
        + b"\xff\xfe"
        + struct.pack(">H", len(comment) + 2)
        + comment  # a comment segment holding the page
        + jpeg[2:]
        + b"<script>alert(2)</script></body></html>"  # and more of it after the end of the image
    )
    assert Image.open(io.BytesIO(polyglot)).format == "JPEG"  # browsers and Pillow both take it

    processed = logo_process(upload(polyglot, "logo.jpg", "image/jpeg"))

    content = processed.content.read()
    assert processed.original_format == "jpeg"
    for marker in (b"<script", b"<html", b"alert", b"<body"):
        assert marker not in content.lower()
    image = decoded(processed)
    assert image.size == (400, 200)
    red, green, blue = image.convert("RGB").getpixel((200, 100))
    assert abs(red - 20) < 12 and abs(green - 60) < 12 and abs(blue - 200) < 12


def test_file_of_50_megabytes_is_refused_by_its_size_and_nothing_stored(db, settings):
    big = b"\x89PNG\r\n\x1a\n" + bytes(50 * 1024 * 1024)

    assert_refused_and_nothing_stored(settings, upload(big), "the largest we accept is 5.0")


# --- More refusals --------------------------------------------------------------------------------


class CountingUpload(SimpleUploadedFile):
    """An upload that claims to be small and counts what is read from it."""

    bytes_read = 0

    def read(self, *args, **kwargs):
        data = super().read(*args, **kwargs)
        self.bytes_read += len(data)
        return data


def test_file_that_understates_its_size_is_refused_without_reading_it_all(db, settings):
    settings.SPONSOR_LOGO_MAX_BYTES = 10_000
    lying = CountingUpload("logo.png", image_bytes("PNG") + bytes(50_000), content_type="image/png")
    lying.size = 100

    assert_refused_and_nothing_stored(settings, lying, "The file is larger than")
    assert lying.bytes_read == 10_001


def test_text_file_named_png_is_refused(db, settings):
    text = upload(b"Dear sponsor team,\nhere is our logo.\n", "logo.png", "image/png")

    assert_refused_and_nothing_stored(settings, text, "This file is not an image we accept. " + ACCEPTED)


def test_gif_is_refused_with_the_formats_we_accept(db, settings):
    gif = upload(image_bytes("GIF", mode="RGB"), "logo.png", "image/png")

    assert_refused_and_nothing_stored(
        settings, gif, "This is a GIF image, which we do not accept. " + ACCEPTED
    )


def test_empty_file_is_refused(db, settings):
    assert_refused_and_nothing_stored(settings, upload(b""), "The file is empty.")


def test_image_smaller_than_100_pixels_is_refused(db, settings):
    assert_refused_and_nothing_stored(
        settings, upload(image_bytes("PNG", size=(80, 40))), "The logo is only 80 × 40 pixels"
    )


def test_completely_transparent_image_is_refused(db, settings):
    assert_refused_and_nothing_stored(
        settings,
        upload(image_bytes("PNG", colour=(0, 0, 0, 0))),
        "The logo is completely transparent",
    )


def test_damaged_png_is_refused(db, settings):
    damaged = image_bytes("PNG", size=(400, 200))[:120]

    assert_refused_and_nothing_stored(settings, upload(damaged), "The image could not be read")


def test_svg_with_an_external_image_is_refused_and_nothing_stored(db, settings):
    svg = (
        SVG_HEAD
        + '<image xlink:href="https://tracker.example.net/pixel.png" width="300" height="150"/></svg>'
    ).encode()

    assert_refused_and_nothing_stored(
        settings,
        upload(svg, "logo.svg", "image/svg+xml"),
        "The SVG file refers to other files or web addresses (https://tracker.example.net/pixel.png).",
    )


def test_svg_reading_a_local_file_is_refused(db, settings):
    svg = (SVG_HEAD + '<image href="file:///etc/passwd" width="300" height="150"/></svg>').encode()

    assert_refused_and_nothing_stored(
        settings, upload(svg, "logo.svg", "image/svg+xml"), "refers to other files or web addresses"
    )


def test_svg_with_an_external_stylesheet_is_refused(db, settings):
    svg = (SVG_HEAD + "<style>@import url(https://fonts.example.net/brand.css);</style></svg>").encode()

    assert_refused_and_nothing_stored(
        settings, upload(svg, "logo.svg", "image/svg+xml"), "refers to other files or web addresses"
    )


def test_svg_repeating_its_elements_exponentially_is_refused(db, settings):
    groups = ['<g id="g0"><rect width="10" height="10" fill="red"/></g>']
    for level in range(1, 8):  # 10 uses of the level below, seven times over: 10 million rectangles
        uses = "".join(f'<use xlink:href="#g{level - 1}"/>' for _ in range(10))
        groups.append(f'<g id="g{level}">{uses}</g>')
    svg = (SVG_HEAD + "<defs>" + "".join(groups) + '</defs><use xlink:href="#g7"/></svg>').encode()
    started = time.monotonic()

    assert_refused_and_nothing_stored(
        settings, upload(svg, "logo.svg", "image/svg+xml"), "too complex to draw"
    )
    assert time.monotonic() - started < 2


def test_svg_embedding_a_huge_image_is_refused(db, settings):
    import base64

    embedded = base64.b64encode(png_claiming_size(20_000, 20_000)).decode()
    svg = (
        SVG_HEAD + f'<image href="data:image/png;base64,{embedded}" width="300" height="150"/></svg>'
    ).encode()

    assert_refused_and_nothing_stored(
        settings, upload(svg, "logo.svg", "image/svg+xml"), "far more pixels than we accept"
    )


def test_svg_without_a_size_is_refused(db, settings):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="10" height="10"/></svg>'

    assert_refused_and_nothing_stored(
        settings, upload(svg, "logo.svg", "image/svg+xml"), "The SVG file has no size."
    )


# --- Accepted logos -------------------------------------------------------------------------------


def test_png_is_stored_re_encoded_for_review(db, settings):
    sponsor = SponsorFactory()

    logo = logo_upload(sponsor=sponsor, upload=upload(image_bytes("PNG", colour=(10, 120, 90, 128))))

    assert logo.status == SponsorLogo.Status.PENDING
    assert logo.original_format == "png"
    assert logo.original_name == "logo.png"
    assert (logo.width, logo.height) == (400, 200)
    [stored] = stored_files(settings)
    assert stored.suffix == ".png"
    image = Image.open(stored)
    assert image.mode == "RGBA"
    assert image.getpixel((10, 10)) == (10, 120, 90, 128)  # transparency kept


def test_webp_is_accepted(db, settings):
    processed = logo_process(
        upload(image_bytes("WEBP", mode="RGB", lossless=True), "logo.webp", "image/webp")
    )

    assert processed.original_format == "webp"
    assert processed.filename == "logo.webp"
    image = decoded(processed)
    assert image.format == "WEBP"
    assert image.size == (400, 200)


def test_webp_with_transparency_is_stored_as_png(db):
    processed = logo_process(
        upload(image_bytes("WEBP", colour=(200, 30, 40, 100), lossless=True), "logo.webp", "image/webp")
    )

    assert processed.filename == "logo.png"
    assert decoded(processed).getpixel((5, 5))[3] == 100


def test_plain_svg_with_a_doctype_is_accepted(db):
    svg = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
        + (SVG_HEAD + '<circle cx="150" cy="75" r="70" fill="#112233"/></svg>').encode()
    )

    processed = logo_process(upload(svg, "logo.svg", "image/svg+xml"))

    image = decoded(processed)
    assert image.size == (560, 560)  # the circle, its transparent surroundings trimmed
    assert image.getpixel((280, 280)) == (0x11, 0x22, 0x33, 255)
    assert image.getpixel((0, 0))[3] == 0


def test_large_image_is_scaled_down_to_the_largest_side(db, settings):
    big = image_bytes("PNG", mode="RGB", size=(3000, 1500))

    processed = logo_process(upload(big))

    assert decoded(processed).size == (settings.SPONSOR_LOGO_MAX_SIDE, settings.SPONSOR_LOGO_MAX_SIDE // 2)


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
def test_animated_image_keeps_its_first_frame(db, image_format):
    red = Image.new("RGBA", (200, 100), (255, 0, 0, 255))
    blue = Image.new("RGBA", (200, 100), (0, 0, 255, 255))
    output = io.BytesIO()
    red.save(
        output, format=image_format, save_all=True, append_images=[blue], duration=100, loop=0, lossless=True
    )
    assert Image.open(io.BytesIO(output.getvalue())).n_frames == 2

    processed = logo_process(upload(output.getvalue(), f"logo.{image_format.lower()}"))

    image = decoded(processed)
    assert getattr(image, "n_frames", 1) == 1
    red_value, green_value, blue_value = image.convert("RGB").getpixel((100, 50))
    assert red_value > 245 and green_value < 10 and blue_value < 10  # red, within lossy WebP's rounding


def test_exif_gps_location_and_camera_are_stripped(db):
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam Industries"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (13.0, 24.0, 18.0)
    jpeg = image_bytes("JPEG", mode="RGB", exif=exif)
    assert Image.open(io.BytesIO(jpeg)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the upload has a location

    processed = logo_process(upload(jpeg, "logo.jpg", "image/jpeg"))

    content = processed.content.read()
    assert b"Exif" not in content
    assert b"SpyCam" not in content
    image = Image.open(io.BytesIO(content))
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info


def test_exif_orientation_is_applied(db):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # the camera was turned: show rotated by 90 degrees
    jpeg = image_bytes("JPEG", mode="RGB", size=(400, 200), exif=exif)

    processed = logo_process(upload(jpeg, "logo.jpg", "image/jpeg"))

    assert decoded(processed).size == (200, 400)


def test_png_text_chunks_and_colour_profile_are_stripped(db):
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Jane Designer, jane@agency.example")
    text.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>secret project</x:xmpmeta>")
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    png = image_bytes("PNG", pnginfo=text, icc_profile=profile)

    processed = logo_process(upload(png))

    content = processed.content.read()
    for marker in (b"tEXt", b"iTXt", b"zTXt", b"iCCP", b"eXIf", b"Jane", b"xmpmeta"):
        assert marker not in content
    assert decoded(processed).info == {}
