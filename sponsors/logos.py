"""Sponsor logos: checking an upload and re-encoding it before anything is stored.

An upload is never trusted by its name or content type, and never stored as uploaded. ``logo_process``

- refuses a file over ``SPONSOR_LOGO_MAX_BYTES`` by its declared size, and reads at most one byte more
  than the limit, so a file that lies about its size is refused too;
- asks Pillow what the content is: PNG, JPEG or WebP are accepted; anything else Pillow knows (GIF, BMP,
  TIFF ...) is refused by name with the list of accepted formats;
- otherwise tries SVG: parsed with defusedxml (no entity declarations, so no "billion laughs" and no
  external entities), ``<script>``, ``<foreignObject>`` and similar elements dropped, references to other
  files or web addresses refused (only ``#fragment`` links and PNG/JPEG/WebP ``data:`` images within the
  pixel limit), a ``<use>`` bomb refused by counting what would be drawn, then drawn by cairosvg
  (``unsafe=False``) into a transparent PNG whose longer side is ``SPONSOR_LOGO_MAX_SIDE``;
- checks the pixel count (``SPONSOR_LOGO_MAX_PIXELS``) from the image header before any pixel is
  decoded, with Pillow's decompression bomb guard as a second net, and a minimum size;
- decodes only the first frame of an animation, applies the EXIF orientation, converts an embedded
  colour profile to sRGB, fits the longer side to ``SPONSOR_LOGO_MAX_SIDE`` and trims fully transparent
  borders;
- writes the pixels afresh into a new image without any metadata (no EXIF, XMP, ICC profile, text chunks
  or comments): a PNG for anything with transparency and for PNG and SVG uploads, a WebP for opaque
  JPEG and WebP uploads. Whatever else the upload carried (a JPEG that is also a web page, a script in an
  SVG) is gone.

Every refusal is a ``ValidationError`` with a sentence a company contact understands.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import logging
import re
import struct
import warnings
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

import cairosvg
from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

logger = logging.getLogger(__name__)

MIN_SIDE = 100  # pixels on the longer side of the upload (and of what is visible of it)
RASTER_FORMATS = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}  # Pillow's name: ours
RASTER_FORMATS_OPENED = {**RASTER_FORMATS, "MPO": "jpeg"}  # a JPEG with several pictures opens as MPO
EMBEDDED_IMAGE_TYPES = {"image/png", "image/jpeg", "image/jpg", "image/webp"}
SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"
# Elements that draw nothing on a still image, or that could reach outside it; dropped before drawing.
SVG_DROPPED = {"script", "foreignObject", "iframe", "object", "embed", "audio", "video", "metadata"}
SVG_MAX_DRAWN = 50_000  # elements drawn, counting every repetition through <use> and url(#...)
SVG_MAX_DEPTH = 100  # nesting of elements and references
UNIT_PIXELS = {"": 1.0, "px": 1.0, "pt": 4 / 3, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54, "in": 96.0}
UNIT_PIXELS.update({"em": 16.0, "ex": 8.0})
LENGTH = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(px|pt|pc|mm|cm|in|em|ex|%)?\s*$")
CSS_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)
DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error)


@dataclass(frozen=True)
class ProcessedLogo:
    """A checked logo, re-encoded and ready to store."""

    filename: str  # "logo.png" or "logo.webp"
    content: ContentFile
    original_format: str  # "png", "jpeg", "webp" or "svg"
    width: int
    height: int


# --- Messages -------------------------------------------------------------------------------------


def _accepted() -> str:
    return _("Please upload the logo as PNG, JPEG, WebP or SVG.")


def _refused(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def _too_big(size: int | None) -> ValidationError:
    limit = filesizeformat(settings.SPONSOR_LOGO_MAX_BYTES)
    if size is None:
        message = _("The file is larger than %(limit)s, the largest we accept.") % {"limit": limit}
    else:
        message = _("The file is %(size)s; the largest we accept is %(limit)s.") % {
            "size": filesizeformat(size),
            "limit": limit,
        }
    return _refused(message, "logo_file_too_big")


def _too_many_pixels(width: int | None = None, height: int | None = None) -> ValidationError:
    limit = settings.SPONSOR_LOGO_MAX_PIXELS / 1_000_000
    side = settings.SPONSOR_LOGO_MAX_SIDE
    if width and height:
        message = _(
            "The image is %(width)d × %(height)d pixels; the largest we accept is %(limit)g megapixels. "
            "A logo of %(side)d pixels on its longer side is plenty."
        ) % {"width": width, "height": height, "limit": limit, "side": side}
    else:
        message = _(
            "The image has far more pixels than we accept (at most %(limit)g megapixels). "
            "A logo of %(side)d pixels on its longer side is plenty."
        ) % {"limit": limit, "side": side}
    return _refused(message, "logo_too_many_pixels")


def _too_small(width: int, height: int) -> ValidationError:
    return _refused(
        _(
            "The logo is only %(width)d × %(height)d pixels; it needs at least %(minimum)d pixels on its "
            "longer side. Please upload a larger version, or an SVG."
        )
        % {"width": width, "height": height, "minimum": MIN_SIDE},
        "logo_too_small",
    )


def _unreadable() -> ValidationError:
    return _refused(
        _("The image could not be read; the file may be damaged. Please export it again.")
        + " "
        + _accepted(),
        "logo_unreadable",
    )


def _svg_refused(message: str, code: str = "logo_svg_refused") -> ValidationError:
    return _refused(message + " " + _("You can also upload the logo as PNG."), code)


# --- Reading the upload ---------------------------------------------------------------------------


def _upload_read(upload) -> bytes:
    """The upload's bytes, refused by its declared size first and never read past the limit."""
    limit = settings.SPONSOR_LOGO_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise _too_big(size)
    with contextlib.suppress(AttributeError, OSError, ValueError):
        upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise _too_big(None)
    if not data:
        raise _refused(_("The file is empty.") + " " + _accepted(), "logo_empty")
    return data


@contextlib.contextmanager
def _decoding():
    """Pillow's decompression bomb guard as an error with a clear message, and no half-decoded images.

    WeasyPrint turns on Pillow's LOAD_TRUNCATED_IMAGES for the whole process when it is imported; a logo
    must decode completely, so it is off while the upload is read (as in ``perks.emoji``).
    """
    truncated_allowed, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except DECODE_ERRORS as error:
        logger.info("Sponsor logo could not be decoded: %r", error)
        raise _unreadable() from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated_allowed


def _raster_format(data: bytes) -> str | None:
    """The format read from the content ("png", "jpeg" or "webp"); None for anything else (maybe SVG)."""
    try:
        with Image.open(io.BytesIO(data), formats=list(RASTER_FORMATS)) as image:
            return RASTER_FORMATS_OPENED[image.format]
    except UnidentifiedImageError:
        pass
    try:  # another image format? Name it in the refusal (header only, nothing decoded)
        with Image.open(io.BytesIO(data)) as image:
            other = image.format
    except Exception:  # anything Pillow cannot open is simply not a known image
        return None
    raise _refused(
        _("This is a %(format)s image, which we do not accept.") % {"format": other} + " " + _accepted(),
        "logo_format",
    )


def _dimensions_check(width: int, height: int) -> None:
    if width * height > settings.SPONSOR_LOGO_MAX_PIXELS:
        raise _too_many_pixels(width, height)
    if max(width, height) < MIN_SIDE:
        raise _too_small(width, height)


# --- Raster images --------------------------------------------------------------------------------


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _to_srgb(image: Image.Image, mode: str) -> Image.Image:
    """The image in ``mode`` ("RGB" or "RGBA"), its colour profile (if any) applied, so brand colours hold."""
    profile = image.info.get("icc_profile")
    if profile and image.mode in ("RGB", "RGBA", "CMYK") and (image.mode == "RGBA") == (mode == "RGBA"):
        try:
            return ImageCms.profileToProfile(
                image,
                ImageCms.ImageCmsProfile(io.BytesIO(profile)),
                ImageCms.createProfile("sRGB"),
                outputMode=mode,
            )
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as error:
            logger.info("Sponsor logo colour profile ignored: %r", error)
    if image.mode == "I" or image.mode.startswith(
        "I;16"
    ):  # 16-bit grey: scale to 8 bits instead of clipping to white
        image = image.convert("I").point(lambda value: value / 256, "L")
    return image.convert(mode)


def _raster_decode(data: bytes, formats: list[str]) -> Image.Image:
    """The first frame, upright, in sRGB, fitted to the largest side: pixels only, no metadata."""
    side = settings.SPONSOR_LOGO_MAX_SIDE
    with Image.open(io.BytesIO(data), formats=formats) as image:
        _dimensions_check(*image.size)  # from the header, before any pixel is decoded
        if image.format in ("JPEG", "MPO"):
            image.draft(None, (side, side))  # decode a large JPEG at 1/2, 1/4 or 1/8 scale
        image.load()  # the first frame of an animation
        try:
            upright = ImageOps.exif_transpose(image)
        except (SyntaxError, ValueError, OSError, struct.error, KeyError, TypeError):
            upright = image.copy()  # broken EXIF: keep the image as it is
        upright.info = {**image.info, **upright.info}  # keep the colour profile for _to_srgb
        mode = "RGBA" if _has_alpha(upright) else "RGB"
        converted = _to_srgb(upright, mode)
    converted.thumbnail((side, side), Image.Resampling.LANCZOS)
    return Image.frombytes(mode, converted.size, converted.tobytes())


# --- SVG ------------------------------------------------------------------------------------------


def _local_name(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _svg_parse(data: bytes):
    """The SVG's element tree, parsed without entities; None if the file is not XML with an <svg> root."""
    text = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"<"):
        return None
    try:
        root = SafeElementTree.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise _svg_refused(
            _(
                "The SVG file declares XML entities, which we do not accept because they can be used to "
                "attack the server. Please export it again as plain SVG."
            ),
            "logo_svg_entities",
        ) from None
    except SafeElementTree.ParseError:
        if b"<svg" in data[:4096].lower():
            raise _svg_refused(
                _("The SVG file is not valid XML. Please export it again."), "logo_svg_invalid"
            ) from None
        return None
    if not isinstance(root.tag, str) or _local_name(root.tag) != "svg":
        return None
    return root


def _embedded_image_check(url: str, pixels_so_far: int) -> int:
    """A ``data:`` image inside the SVG: PNG, JPEG or WebP within the pixel limit; returns its pixels."""
    header, _comma, payload = url[len("data:") :].partition(",")
    media_type, *parameters = [part.strip().lower() for part in header.split(";")]
    if media_type not in EMBEDDED_IMAGE_TYPES:
        raise _svg_refused(
            _("The SVG file embeds a file of a kind we do not accept (%(kind)s).")
            % {"kind": media_type or "?"},
            "logo_svg_embedded",
        )
    try:
        content = (
            base64.b64decode(payload, validate=False) if "base64" in parameters else unquote_to_bytes(payload)
        )
        with Image.open(io.BytesIO(content), formats=list(RASTER_FORMATS)) as image:
            width, height = image.size
    except (binascii.Error, *DECODE_ERRORS):
        raise _svg_refused(
            _("An image embedded in the SVG file could not be read."), "logo_svg_embedded"
        ) from None
    if pixels_so_far + width * height > settings.SPONSOR_LOGO_MAX_PIXELS:
        raise _too_many_pixels(width, height)
    return width * height


def _reference_refused(reference: str) -> ValidationError:
    if len(reference) > 80:
        reference = reference[:77] + "..."
    return _svg_refused(
        _(
            "The SVG file refers to other files or web addresses (%(reference)s). Please embed everything "
            "in the file and export it again."
        )
        % {"reference": reference},
        "logo_svg_external",
    )


def _svg_clean(root) -> dict:
    """Drop what draws nothing, refuse references outside the file; returns the elements by id."""
    for parent in list(root.iter()):
        for child in list(parent):
            if not isinstance(child.tag, str) or _local_name(child.tag) in SVG_DROPPED:
                parent.remove(child)
    by_id, embedded_pixels = {}, 0
    for element in root.iter():
        tag = _local_name(element.tag)
        for name, value in list(element.attrib.items()):
            attribute = _local_name(name)
            if attribute.lower().startswith("on"):  # event handlers: never run, dropped anyway
                del element.attrib[name]
                continue
            if attribute == "href":
                reference = value.strip()
                if not reference or reference.startswith("#"):
                    continue
                if tag == "a":  # a link draws nothing; it is simply dropped
                    del element.attrib[name]
                elif tag == "image" and reference.lower().startswith("data:"):
                    embedded_pixels += _embedded_image_check(reference, embedded_pixels)
                else:
                    raise _reference_refused(reference)
            for _quote, target in CSS_URL.findall(value):
                if not target.strip().startswith("#"):
                    raise _reference_refused(target.strip())
        if tag == "style":
            css = element.text or ""
            if "@import" in css.lower():
                raise _reference_refused("@import")
            for _quote, target in CSS_URL.findall(css):
                if not target.strip().startswith("#"):
                    raise _reference_refused(target.strip())
        if element.get("id"):
            by_id.setdefault(element.get("id").strip(), element)
    return by_id


def _references(element) -> list[str]:
    """The ids an element draws again: ``<use href="#x">`` and ``url(#x)`` in its attributes."""
    found = []
    for name, value in element.attrib.items():
        if _local_name(name) == "href" and value.strip().startswith("#"):
            found.append(value.strip()[1:])
        found += [target.strip()[1:] for _quote, target in CSS_URL.findall(value)]
    return found


def _svg_complexity_check(root, by_id: dict) -> None:
    """Refuse an SVG that would draw too many elements (a "use bomb": groups repeating groups)."""

    def too_complex() -> ValidationError:
        return _svg_refused(
            _("The SVG file is too complex to draw (it repeats its elements too many times)."),
            "logo_svg_complex",
        )

    drawn: dict[int, int] = {}
    in_progress: set[int] = set()

    def count(element, depth: int) -> int:
        key = id(element)
        if key in drawn:
            return drawn[key]
        if key in in_progress or depth > SVG_MAX_DEPTH:
            raise too_complex()
        in_progress.add(key)
        total = 1
        for child in element:
            total += count(child, depth + 1)
        for reference in _references(element):
            if reference in by_id:
                total += count(by_id[reference], depth + 1)
        if total > SVG_MAX_DRAWN:
            raise too_complex()
        in_progress.discard(key)
        drawn[key] = total
        return total

    count(root, 0)


def _length_pixels(value: str | None) -> float | None:
    match = LENGTH.match(value or "")
    if not match or match.group(2) == "%":
        return None
    return float(match.group(1)) * UNIT_PIXELS[match.group(2) or ""]


def _svg_proportions(root) -> tuple[float, float]:
    """Width and height in any unit, for the aspect ratio: width/height attributes, else the viewBox."""
    width, height = _length_pixels(root.get("width")), _length_pixels(root.get("height"))
    if width and height and width > 0 and height > 0:
        return width, height
    numbers = re.split(r"[\s,]+", (root.get("viewBox") or "").strip())
    try:
        view_width, view_height = float(numbers[2]), float(numbers[3])
    except (IndexError, ValueError):
        view_width = view_height = 0.0
    if view_width > 0 and view_height > 0:
        return view_width, view_height
    raise _svg_refused(
        _("The SVG file has no size. Please give its <svg> element a viewBox, or a width and a height."),
        "logo_svg_size",
    )


def _svg_rasterise(data: bytes) -> bytes:
    """The SVG drawn into a transparent PNG whose longer side is ``SPONSOR_LOGO_MAX_SIDE``."""
    root = _svg_parse(data)
    if root is None:
        raise _refused(_("This file is not an image we accept.") + " " + _accepted(), "logo_format")
    by_id = _svg_clean(root)
    _svg_complexity_check(root, by_id)
    width, height = _svg_proportions(root)
    side = settings.SPONSOR_LOGO_MAX_SIDE
    if width >= height:
        output_width, output_height = side, max(1, round(side * height / width))
    else:
        output_width, output_height = max(1, round(side * width / height)), side
    cleaned = SafeElementTree.tostring(root, encoding="utf-8")
    try:
        return cairosvg.svg2png(
            bytestring=cleaned,
            unsafe=False,
            output_width=output_width,
            output_height=output_height,
        )
    except Exception as error:  # cairosvg raises many kinds; the file cannot be drawn
        logger.info("Sponsor logo SVG could not be drawn: %r", error)
        raise _svg_refused(
            _("The SVG file could not be drawn. Please export it again."), "logo_svg_unreadable"
        ) from None


# --- Writing the logo -----------------------------------------------------------------------------


def _logo_encode(image: Image.Image, original_format: str) -> ProcessedLogo:
    """Trim transparent borders and write a new file with pixels only."""
    if image.mode == "RGBA":
        alpha = image.getchannel("A")
        box = alpha.getbbox()
        if box is None:
            raise _refused(
                _("The logo is completely transparent, so there is nothing to show.") + " " + _accepted(),
                "logo_transparent",
            )
        if box != (0, 0, *image.size):
            image = image.crop(box)
        if image.getchannel("A").getextrema() == (255, 255):
            image = image.convert("RGB")  # an alpha channel without any transparency
    if max(image.size) < MIN_SIDE:
        raise _too_small(*image.size)
    output = io.BytesIO()
    if image.mode == "RGBA" or original_format in ("png", "svg"):
        image.save(output, format="PNG", optimize=True)
        extension = "png"
    else:
        image.save(output, format="WEBP", quality=90, method=4)
        extension = "webp"
    return ProcessedLogo(
        filename=f"logo.{extension}",
        content=ContentFile(output.getvalue(), name=f"logo.{extension}"),
        original_format=original_format,
        width=image.width,
        height=image.height,
    )


def logo_process(upload) -> ProcessedLogo:
    """Check an uploaded logo and return it re-encoded; raises ``ValidationError`` with a clear message."""
    data = _upload_read(upload)
    with _decoding():
        original_format = _raster_format(data)
        if original_format is None:
            data, original_format, formats = _svg_rasterise(data), "svg", ["PNG"]
        else:
            formats = [name for name, value in RASTER_FORMATS.items() if value == original_format]
        image = _raster_decode(data, formats)
    return _logo_encode(image, original_format)
