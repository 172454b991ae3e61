"""Write the custom emoji pack for Mastodon: ``manage.py export_emoji_pack --output emoji.tar.gz``.

Then, on the Mastodon server: ``tootctl emoji import emoji.tar.gz`` (add ``--overwrite`` to replace
emoji that changed). Which emoji are in it: see perks/emoji.py (``PERKS_EMOJI_ON_END``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from perks.emoji import emoji_on_end, emoji_pack_write


class Command(BaseCommand):
    help = "Write the approved custom emoji of entitled patrons as a .tar.gz for `tootctl emoji import`."

    def add_arguments(self, parser):
        parser.add_argument("--output", required=True, help="the .tar.gz file to write")

    def handle(self, *args, output, **options):
        target = Path(output)
        if not target.parent.is_dir():
            raise CommandError(f"The folder {target.parent} does not exist.")
        # Write next to the target and rename, so a half-written pack never replaces a good one.
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".emoji-pack-", suffix=".tar.gz")
        try:
            with os.fdopen(handle, "wb") as pack:
                written = emoji_pack_write(fileobj=pack)
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {len(written)} emoji to {target} (emoji of patrons whose perk ended: {emoji_on_end()})."
            )
        )
