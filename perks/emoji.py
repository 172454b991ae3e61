"""Custom emoji: checking an upload, the patron's submissions, moderation, and the pack for Mastodon.

An upload is never trusted by its name or content type. ``emoji_image_clean`` follows Mastodon's rules
(PNG or GIF, animated allowed, at most 256 KB) and, before Pillow decodes anything, reads the file's own
structure: the magic bytes, the size in the header (at most 1024 × 1024 pixels, every GIF frame
included), the number of frames (at most 200), and nothing after the image's end (PNG ``IEND``, GIF
trailer) nor any markup (``<svg``, ``<script``, ``<html``), which refuses SVG files and HTML or ZIP
polyglots. Only then is the image decoded, resized to fit 256 × 256, and written afresh: a PNG without
text chunks, EXIF or colour profile; an animated GIF frame by frame with its durations and loop, without
comments. Every refusal is an ``EmojiRefused`` with a sentence for a person; nothing is stored.

Statuses move as ``EMOJI_MOVES`` says: the patron submits (pending) and may withdraw a pending or
approved emoji; staff approve a pending one or reject a pending or approved one with a reason, which is
e-mailed to the patron in their language.

The pack (``emoji_pack_write``) is a .tar.gz with one ``shortcode.png`` / ``shortcode.gif`` per approved
emoji at the top level, which is what ``tootctl emoji import`` takes. It holds the emoji of patrons whose
emoji perk is active, and, while ``PERKS_EMOJI_ON_END`` is "keep" (the default), also of patrons whose
perk is suspended or ended; with "omit" those are left out.
"""

from __future__ import annotations

import io
import logging
import math
import re
import struct
import tarfile
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from PIL import Image, ImageFile, ImageSequence, UnidentifiedImageError

from fundraising import emails as fundraising_emails
from fundraising.models import Patron

from .models import Emoji, Entitlement, Perk
from .services import emoji_allowance

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 256 * 1024
MAX_SIDE = 1024
MAX_FRAMES = 200
TARGET_SIDE = 256
SHORTCODE_MAX_LENGTH = Emoji._meta.get_field("shortcode").max_length
SHORTCODE_PATTERN = re.compile(r"^[A-Za-z0-9_]{2,}$")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GIF_SIGNATURES = (b"GIF87a", b"GIF89a")
MARKUP = (b"<svg", b"<script", b"<html", b"<!doctype", b"<?xml", b"<iframe", b"<object", b"<embed")
DEFAULT_FRAME_DURATION = 100  # milliseconds, what browsers use for a GIF frame without a delay

Status = Emoji.Status
TAKEN = (Status.PENDING, Status.APPROVED)
# action: (statuses it is allowed from, status it leads to)
EMOJI_MOVES = {
    "approve": ((Status.PENDING,), Status.APPROVED),
    "reject": ((Status.PENDING, Status.APPROVED), Status.REJECTED),
    "withdraw": ((Status.PENDING, Status.APPROVED), Status.WITHDRAWN),
}


class EmojiRefused(Exception):
    """An upload or a status change that is not allowed; ``message`` says why, ``field`` which input."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class EmojiImage:
    """A checked, re-encoded image, ready to store."""

    content: bytes
    image_format: str  # "png" or "gif"
    width: int
    height: int
    frames: int


@dataclass(frozen=True)
class _Header:
    image_format: str
    width: int
    height: int
    frames: int


# --- Checking the file ------------------------------------------------------------------------


def _not_an_image() -> EmojiRefused:
    return EmojiRefused(_("The file is not a PNG or GIF image."), field="image")


def _kilobytes(size: int) -> int:
    return math.ceil(size / 1024)


def file_size_check(size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise EmojiRefused(
            _("The file is %(size)d KB; the largest allowed is %(limit)d KB.")
            % {"size": _kilobytes(size), "limit": MAX_FILE_BYTES // 1024},
            field="image",
        )


def _png_header(data: bytes) -> _Header:
    """Walk the PNG chunks: IHDR first, IEND last, nothing after it; frames from an APNG's acTL."""
    position, width, height, frames = len(PNG_SIGNATURE), 0, 0, 1
    while True:
        if position + 12 > len(data):
            raise _not_an_image()  # cut off before IEND
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        end = position + 12 + length
        if end > len(data) or (position == len(PNG_SIGNATURE) and kind != b"IHDR"):
            raise _not_an_image()
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            if length < 8:
                raise _not_an_image()
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"acTL" and length >= 4:
            frames = struct.unpack(">I", body[:4])[0]
        position = end
        if kind == b"IEND":
            break
    if position != len(data):
        raise _trailing_data()
    return _Header("png", width, height, frames)


def _gif_skip_sub_blocks(data: bytes, position: int) -> int:
    while True:
        if position >= len(data):
            raise _not_an_image()
        size = data[position]
        position += 1
        if size == 0:
            return position
        position += size


def _gif_header(data: bytes) -> _Header:
    """Walk the GIF blocks: count the frames, take the largest extent of any frame, end at the trailer."""
    if len(data) < 13:
        raise _not_an_image()
    width, height, flags = struct.unpack("<HHB", data[6:11])
    position = 13 + (3 * (2 << (flags & 7)) if flags & 0x80 else 0)
    frames = 0
    while True:
        if position >= len(data):
            raise _not_an_image()  # no trailer
        block = data[position]
        if block == 0x3B:  # trailer
            position += 1
            break
        if block == 0x21:  # extension: label, then sub-blocks
            position = _gif_skip_sub_blocks(data, position + 2)
        elif block == 0x2C:  # image descriptor
            if position + 10 > len(data):
                raise _not_an_image()
            left, top, frame_width, frame_height, frame_flags = struct.unpack(
                "<HHHHB", data[position + 1 : position + 10]
            )
            width, height = max(width, left + frame_width), max(height, top + frame_height)
            position += 10 + (3 * (2 << (frame_flags & 7)) if frame_flags & 0x80 else 0)
            position = _gif_skip_sub_blocks(data, position + 1)  # after the LZW minimum code size
            frames += 1
        else:
            raise _not_an_image()
    if frames == 0:
        raise _not_an_image()
    if position != len(data):
        raise _trailing_data()
    return _Header("gif", width, height, frames)


def _trailing_data() -> EmojiRefused:
    return EmojiRefused(
        _("The file has other data after the end of the image. Please save it again as a plain PNG or GIF."),
        field="image",
    )


def _limits_check(header: _Header) -> None:
    if header.width > MAX_SIDE or header.height > MAX_SIDE:
        raise EmojiRefused(
            _("The image is %(width)d × %(height)d pixels; the largest allowed is %(limit)d × %(limit)d.")
            % {"width": header.width, "height": header.height, "limit": MAX_SIDE},
            field="image",
        )
    if header.width < 1 or header.height < 1:
        raise _not_an_image()
    if header.frames > MAX_FRAMES:
        raise EmojiRefused(
            _("The %(format)s has %(frames)d frames; at most %(limit)d are allowed.")
            % {"format": header.image_format.upper(), "frames": header.frames, "limit": MAX_FRAMES},
            field="image",
        )


def image_header_read(data: bytes) -> _Header:
    """What the file says about itself, checked without decoding any pixels."""
    if data.startswith(PNG_SIGNATURE):
        header = _png_header(data)
    elif data.startswith(GIF_SIGNATURES):
        header = _gif_header(data)
    else:
        raise _not_an_image()
    lowered = data.lower()
    if any(marker in lowered for marker in MARKUP):
        raise EmojiRefused(
            _("The file contains web page or script code, which an image must not contain."), field="image"
        )
    _limits_check(header)
    return header


def _fresh(frame: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The frame as RGBA pixels only, fitted to ``size``: no info, text, EXIF or profile carried over."""
    rgba = frame.convert("RGBA")
    if rgba.size != size:
        rgba = rgba.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
    return Image.frombytes("RGBA", size, rgba.tobytes())


def _fitted_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, TARGET_SIDE / width, TARGET_SIDE / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _reencode(image: Image.Image, image_format: str) -> EmojiImage:
    size = _fitted_size(*image.size)
    frames, durations = [], []
    for frame in ImageSequence.Iterator(image):
        frames.append(_fresh(frame, size))
        durations.append(int(frame.info.get("duration") or DEFAULT_FRAME_DURATION))
        if len(frames) > MAX_FRAMES:
            raise EmojiRefused(
                _("The %(format)s has more than %(limit)d frames.")
                % {"format": image_format.upper(), "limit": MAX_FRAMES},
                field="image",
            )
    output = io.BytesIO()
    if len(frames) == 1:
        frames[0].save(output, format=image_format.upper(), optimize=True)
    else:
        options = {"save_all": True, "append_images": frames[1:], "duration": durations}
        if "loop" in image.info:
            options["loop"] = image.info["loop"]
        if image_format == "gif":
            options.update(disposal=2, optimize=True)
        frames[0].save(output, format=image_format.upper(), **options)
    content = output.getvalue()
    if len(content) > MAX_FILE_BYTES:
        raise EmojiRefused(
            _(
                "After conversion the image is %(size)d KB; the largest allowed is %(limit)d KB. "
                "Please use fewer frames or colours."
            )
            % {"size": _kilobytes(len(content)), "limit": MAX_FILE_BYTES // 1024},
            field="image",
        )
    with Image.open(io.BytesIO(content)) as written:
        frame_count = getattr(written, "n_frames", 1)
    return EmojiImage(content, image_format, size[0], size[1], frame_count)


def emoji_image_clean(data: bytes) -> EmojiImage:
    """Check an uploaded file and return it re-encoded; raises ``EmojiRefused`` with a clear message."""
    file_size_check(len(data))
    header = image_header_read(data)
    # WeasyPrint turns on Pillow's LOAD_TRUNCATED_IMAGES for the whole process when it is imported;
    # an upload must decode completely, so it is off while the emoji is read.
    truncated_allowed, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[header.image_format.upper()]) as image:
                _limits_check(
                    _Header(
                        header.image_format,
                        image.width,
                        image.height,
                        getattr(image, "n_frames", 1),
                    )
                )
                return _reencode(image, header.image_format)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise EmojiRefused(
            _("The image would be too large once unpacked; the largest allowed is %(limit)d × %(limit)d.")
            % {"limit": MAX_SIDE},
            field="image",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error) as error:
        logger.info("Emoji upload could not be decoded: %r", error)
        raise EmojiRefused(
            _("The image could not be read; the file may be damaged. Please save it again as PNG or GIF."),
            field="image",
        ) from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated_allowed


# --- Shortcodes -------------------------------------------------------------------------------


def shortcode_clean(shortcode: str) -> str:
    """The shortcode without surrounding colons or spaces; raises ``EmojiRefused`` if Mastodon refuses it."""
    shortcode = (shortcode or "").strip().strip(":")
    if not SHORTCODE_PATTERN.match(shortcode):
        raise EmojiRefused(
            _("Shortcodes use letters, digits and underscores, at least 2 characters."), field="shortcode"
        )
    if len(shortcode) > SHORTCODE_MAX_LENGTH:
        raise EmojiRefused(
            _("Shortcodes are at most %(limit)d characters long.") % {"limit": SHORTCODE_MAX_LENGTH},
            field="shortcode",
        )
    return shortcode


def _taken(shortcode: str) -> EmojiRefused:
    return EmojiRefused(
        _("The shortcode :%(shortcode)s: is already taken.") % {"shortcode": shortcode}, field="shortcode"
    )


def shortcode_is_taken(shortcode: str) -> bool:
    """Whether an approved or pending emoji has this shortcode, in any mix of upper and lower case."""
    return (
        Emoji.objects.filter(status__in=TAKEN)
        .annotate(shortcode_lower=Lower("shortcode"))
        .filter(shortcode_lower=shortcode.lower())
        .exists()
    )


# --- The patron's emoji -----------------------------------------------------------------------


def emoji_slots_left(*, patron: Patron) -> int:
    """How many more emoji the patron may upload now: their allowance minus pending and approved ones."""
    used = patron.emoji.filter(status__in=TAKEN).count()
    return max(0, emoji_allowance(patron=patron) - used)


def emoji_submit(*, patron: Patron, shortcode: str, image: EmojiImage) -> Emoji:
    """Store a checked image as a pending emoji. Refused (storing nothing) without a free slot or shortcode."""
    shortcode = shortcode_clean(shortcode)
    with transaction.atomic():
        Patron.objects.select_for_update().filter(pk=patron.pk).first()  # one upload at a time per patron
        if emoji_slots_left(patron=patron) <= 0:
            raise EmojiRefused(_("You cannot upload more emoji with your current support."))
        if shortcode_is_taken(shortcode):
            raise _taken(shortcode)
        emoji = Emoji(
            patron=patron,
            shortcode=shortcode,
            image_format=image.image_format,
            width=image.width,
            height=image.height,
            frames=image.frames,
        )
        emoji.image.save(f"{shortcode}.{image.image_format}", ContentFile(image.content), save=False)
        try:
            with transaction.atomic():
                emoji.save()
        except IntegrityError:  # another upload took the shortcode a moment ago
            emoji.image.delete(save=False)
            raise _taken(shortcode) from None
        except BaseException:
            emoji.image.delete(save=False)
            raise
    logger.info("Emoji %s submitted by patron %s", emoji, patron.pseudonym)
    return emoji


def _move(*, emoji: Emoji, action: str) -> Emoji:
    """The emoji locked for update, if the action is allowed from its status now."""
    emoji = Emoji.objects.select_for_update().get(pk=emoji.pk)
    allowed_from, _to = EMOJI_MOVES[action]
    if emoji.status not in allowed_from:
        raise EmojiRefused(
            _("This emoji is %(status)s and cannot be changed that way.")
            % {"status": emoji.get_status_display()}
        )
    return emoji


def emoji_approve(*, emoji: Emoji, by) -> Emoji:
    with transaction.atomic():
        emoji = _move(emoji=emoji, action="approve")
        emoji.status, emoji.reason = Status.APPROVED, ""
        emoji.reviewed_by, emoji.reviewed_at = by, timezone.now()
        emoji.save(update_fields=["status", "reason", "reviewed_by", "reviewed_at"])
    logger.info("Emoji %s approved", emoji)
    return emoji


def emoji_reject(*, emoji: Emoji, by, reason: str) -> Emoji:
    """Reject with a reason (required), which is e-mailed to the patron after commit."""
    reason = (reason or "").strip()
    if not reason:
        raise EmojiRefused(_("Please give a reason: the patron receives it by e-mail."), field="reason")
    with transaction.atomic():
        emoji = _move(emoji=emoji, action="reject")
        emoji.status, emoji.reason = Status.REJECTED, reason
        emoji.reviewed_by, emoji.reviewed_at = by, timezone.now()
        emoji.save(update_fields=["status", "reason", "reviewed_by", "reviewed_at"])
        emoji_pk = emoji.pk
        transaction.on_commit(lambda: emoji_rejected_email_send(emoji=Emoji.objects.get(pk=emoji_pk)))
    logger.info("Emoji %s rejected", emoji)
    return emoji


def emoji_withdraw(*, emoji: Emoji, patron: Patron) -> Emoji:
    """The patron takes back their own pending or approved emoji (its shortcode becomes free again)."""
    if emoji.patron_id != patron.pk:
        raise EmojiRefused(_("This emoji is not yours."))
    with transaction.atomic():
        emoji = _move(emoji=emoji, action="withdraw")
        emoji.status = Status.WITHDRAWN
        emoji.save(update_fields=["status"])
    logger.info("Emoji %s withdrawn by patron %s", emoji, patron.pseudonym)
    return emoji


def emoji_rejected_email_send(*, emoji: Emoji) -> None:
    """Tell the patron, in their language, that their emoji was not approved and why."""
    patron = emoji.patron
    if not fundraising_emails.patron_reachable(patron):
        return
    with fundraising_emails.in_patron_language(patron):
        organisation_name = fundraising_emails.organisation_name()
        context = {
            "patron": patron,
            "emoji": emoji,
            "organisation_name": organisation_name,
            "emoji_url": fundraising_emails.absolute_url("perks:emoji"),
            "my_support_url": fundraising_emails.absolute_url("fundraising:my_support"),
        }
        body = render_to_string("perks/emails/emoji_rejected.txt", context)
        body = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in body.strip().splitlines()))
        subject = _("Your emoji :%(shortcode)s: was not approved") % {"shortcode": emoji.shortcode}
        EmailMessage(
            subject=f"{subject} · {organisation_name}",
            body=body + "\n",
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[patron.email],
            headers={
                "Content-Language": translation.get_language(),
                "Auto-Submitted": "auto-generated",
            },
        ).send()
    logger.info("E-mail emoji_rejected sent to patron %s", patron.pseudonym)


# --- The pack for Mastodon --------------------------------------------------------------------


def emoji_on_end() -> str:
    """What happens to approved emoji when the patron's perk ends: "keep" (default) or "omit"."""
    value = str(getattr(settings, "PERKS_EMOJI_ON_END", "keep") or "keep").strip().lower()
    if value not in ("keep", "omit"):
        logger.warning("PERKS_EMOJI_ON_END=%r is neither 'keep' nor 'omit'; keeping emoji", value)
        return "keep"
    return value


def emoji_pack_queryset(*, on_end: str | None = None):
    """The approved emoji that belong in the pack now, by shortcode."""
    on_end = on_end or emoji_on_end()
    states = [Entitlement.State.ACTIVE]
    if on_end == "keep":
        states += [Entitlement.State.SUSPENDED, Entitlement.State.ENDED]
    entitled = Entitlement.objects.filter(perk__kind=Perk.Kind.EMOJI, state__in=states).values("patron_id")
    return (
        Emoji.objects.filter(status=Status.APPROVED, patron__erased_at__isnull=True, patron_id__in=entitled)
        .exclude(image="")
        .order_by(Lower("shortcode"))
    )


def emoji_pack_write(*, fileobj, on_end: str | None = None) -> list[Emoji]:
    """Write the pack as .tar.gz to a binary file object; returns the emoji written."""
    written = []
    with tarfile.open(fileobj=fileobj, mode="w:gz") as archive:
        for emoji in emoji_pack_queryset(on_end=on_end):
            try:
                with emoji.image.open("rb") as image_file:
                    content = image_file.read()
            except OSError:
                logger.error("Emoji %s has no image file; left out of the pack", emoji)
                continue
            member = tarfile.TarInfo(name=f"{emoji.shortcode}.{emoji.image_format}")
            member.size = len(content)
            member.mode = 0o644
            member.mtime = int((emoji.reviewed_at or emoji.created).timestamp())
            archive.addfile(member, io.BytesIO(content))
            written.append(emoji)
    return written
