"""Staff moderate custom emoji in the Wagtail admin: the queue with light and dark previews, approve, or
reject with a reason e-mailed to the patron in their language; nobody else gets in."""

from __future__ import annotations

import io
import tarfile

import pytest
from django.core import mail

from perks.emoji import emoji_image_clean, emoji_submit
from perks.models import Emoji

from .emoji_support import approved_emoji, grant_emoji_permissions, patron_with_emoji_perk, png_bytes

INDEX = "/admin/perks/emoji/"


def _inspect(emoji) -> str:
    return f"{INDEX}inspect/{emoji.pk}/"


@pytest.fixture
def moderator_client(editor_client):
    grant_emoji_permissions(editor_client.user, "view_emoji", "change_emoji")
    return editor_client


@pytest.fixture
def pending(db):
    patron = patron_with_emoji_perk(language="de", name="Erika Mustermann", email="erika@example.org")
    return emoji_submit(patron=patron, shortcode="blobcat", image=emoji_image_clean(png_bytes()))


def test_queue_lists_pending_emoji_on_light_and_dark_backgrounds(moderator_client, pending):
    approved_emoji(patron=patron_with_emoji_perk(), shortcode="already_done")

    response = moderator_client.get(INDEX)

    assert response.status_code == 200
    text = response.content.decode()
    assert "blobcat" in text
    assert "already_done" not in text  # the queue opens on the emoji waiting for review
    assert text.count(pending.image.url) == 2
    assert "emoji-preview--light" in text and "emoji-preview--dark" in text
    assert "Erika" not in text  # editors see no donor's name
    assert "already_done" in moderator_client.get(INDEX, {"status": "approved"}).content.decode()
    assert "already_done" in moderator_client.get(INDEX, {"status": ""}).content.decode()


def test_inspect_view_shows_both_previews_and_both_forms(moderator_client, pending):
    response = moderator_client.get(_inspect(pending))

    assert response.status_code == 200
    text = response.content.decode()
    assert text.count(pending.image.url) == 2
    assert "Approve :blobcat:" in text
    assert "Reject :blobcat:" in text
    assert "csrfmiddlewaretoken" in text


def test_approving_records_who_and_when(moderator_client, pending):
    response = moderator_client.post(_inspect(pending), {"action": "approve"})

    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "approved"
    assert pending.reviewed_by == moderator_client.user
    assert pending.reviewed_at is not None
    assert mail.outbox == []


def test_rejecting_needs_a_reason(moderator_client, pending):
    response = moderator_client.post(_inspect(pending), {"action": "reject", "reason": "  "})

    assert response.status_code == 400
    assert "Please give a reason: the patron receives it by e-mail." in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == "pending"
    assert mail.outbox == []


def test_rejection_reason_is_emailed_to_a_german_patron_in_german(
    moderator_client, pending, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = moderator_client.post(
            _inspect(pending), {"action": "reject", "reason": "Das Bild zeigt ein geschütztes Logo."}
        )

    assert response.status_code == 302
    pending.refresh_from_db()
    assert (pending.status, pending.reason) == ("rejected", "Das Bild zeigt ein geschütztes Logo.")
    assert pending.reviewed_by == moderator_client.user
    [message] = mail.outbox
    assert message.to == ["erika@example.org"]
    assert message.extra_headers["Content-Language"] == "de"
    assert ":blobcat:" in message.subject
    assert message.body.startswith("Hallo Erika Mustermann,")
    assert "Das Bild zeigt ein geschütztes Logo." in message.body
    assert "/de/support/perks/emoji/" in message.body
    assert "Viele Grüße" in message.body


def test_an_approved_emoji_can_still_be_rejected_but_not_approved_twice(moderator_client, pending):
    moderator_client.post(_inspect(pending), {"action": "approve"})

    assert "Approve :blobcat:" not in moderator_client.get(_inspect(pending)).content.decode()
    moderator_client.post(_inspect(pending), {"action": "approve"})
    moderator_client.post(_inspect(pending), {"action": "reject", "reason": "Reported as offensive."})

    pending.refresh_from_db()
    assert (pending.status, pending.reason) == ("rejected", "Reported as offensive.")


@pytest.fixture
def staff_client(client, make_user):
    """A staff member whose roles do not include emoji moderation (editors and finance do)."""
    from django.contrib.auth.models import Permission

    user = make_user("patron", mfa=True, is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    client.force_login(user)
    client.user = user
    return client


def test_editors_moderate_emoji_by_their_role(editor_client, pending):
    editor_client.post(_inspect(pending), {"action": "approve"})
    pending.refresh_from_db()
    assert pending.status == "approved"


def test_staff_with_view_permission_only_cannot_moderate(staff_client, pending):
    grant_emoji_permissions(staff_client.user, "view_emoji")

    page = staff_client.get(_inspect(pending))
    response = staff_client.post(_inspect(pending), {"action": "approve"})

    assert page.status_code == 200
    assert "Approve :blobcat:" not in page.content.decode()
    assert response.status_code in (302, 403)  # Wagtail turns "permission denied" into a redirect
    assert response.get("Location", "") != INDEX
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_staff_without_emoji_permissions_gets_no_access(staff_client, pending):
    for url in (INDEX, _inspect(pending), f"{INDEX}pack.tar.gz"):
        assert staff_client.get(url).status_code in (302, 403), url
    staff_client.post(_inspect(pending), {"action": "approve"})

    pending.refresh_from_db()
    assert pending.status == "pending"


@pytest.mark.parametrize("who", ["anonymous", "patron"])
def test_non_staff_gets_no_access(client, make_user, pending, who):
    if who == "patron":
        client.force_login(make_user("patron"))

    responses = [
        client.get(INDEX),
        client.get(_inspect(pending)),
        client.get(f"{INDEX}pack.tar.gz"),
        client.post(_inspect(pending), {"action": "approve"}),
    ]

    for response in responses:
        assert response.status_code in (302, 403)
        assert b"blobcat" not in response.content
        assert response.get("Content-Type", "").split(";")[0] != "application/gzip"
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_emoji_cannot_be_added_edited_or_deleted_in_the_admin(moderator_client, pending):
    for url in (f"{INDEX}new/", f"{INDEX}edit/{pending.pk}/", f"{INDEX}delete/{pending.pk}/"):
        assert moderator_client.get(url).status_code in (302, 403), url
    assert Emoji.objects.filter(pk=pending.pk).exists()


def test_staff_download_the_emoji_pack(moderator_client, pending):
    approved_emoji(patron=patron_with_emoji_perk(), shortcode="party")

    index = moderator_client.get(INDEX).content.decode()
    response = moderator_client.get(f"{INDEX}pack.tar.gz")

    assert "Download emoji pack" in index
    assert response.status_code == 200
    assert response["Content-Type"] == "application/gzip"
    assert "attachment" in response["Content-Disposition"]
    with tarfile.open(fileobj=io.BytesIO(b"".join(response.streaming_content)), mode="r:gz") as archive:
        assert archive.getnames() == ["party.png"]


def test_moderators_find_the_queue_in_the_admin_menu(moderator_client):
    assert "/admin/perks/emoji/" in moderator_client.get("/admin/").content.decode()


def test_staff_without_emoji_permissions_do_not_see_the_menu_item(staff_client):
    assert "/admin/perks/emoji/" not in staff_client.get("/admin/").content.decode()
