"""Signing up, verifying, logging in with MFA, and session lengths."""

import re

import pyotp
import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.mark.django_db
def test_sign_up_sends_a_verification_mail_and_makes_a_patron(client):
    from django.contrib.auth import get_user_model

    response = client.post(
        reverse("account_signup"),
        {
            "email": "new.patron@example.org",
            "password1": "a-long-enough-pass",
            "password2": "a-long-enough-pass",
        },
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(email="new.patron@example.org")
    assert list(user.groups.values_list("name", flat=True)) == ["patron"]
    assert len(mail.outbox) == 1
    assert "new.patron@example.org" in mail.outbox[0].to


@pytest.mark.django_db
def test_verification_link_confirms_the_address(client):
    from allauth.account.models import EmailAddress

    client.post(
        reverse("account_signup"),
        {
            "email": "verify.me@example.org",
            "password1": "a-long-enough-pass",
            "password2": "a-long-enough-pass",
        },
    )
    link = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/", mail.outbox[0].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    client.post("/" + path)
    assert EmailAddress.objects.get(email="verify.me@example.org").verified


@pytest.mark.django_db
def test_unverified_user_cannot_log_in(client, make_user, password):
    from allauth.account.models import EmailAddress

    user = make_user("patron")
    EmailAddress.objects.filter(user=user).update(verified=False)
    client.post(reverse("account_login"), {"login": user.email, "password": password})
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_staff_login_asks_for_the_totp_code_then_opens_admin(client, make_user, password):
    user = make_user("patron", "editor", mfa=True)
    response = client.post(reverse("account_login"), {"login": user.email, "password": password})
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session
    client.post(reverse("mfa_authenticate"), {"code": pyotp.TOTP(SECRET).now()})
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_wrong_totp_code_does_not_log_in(client, make_user, password):
    user = make_user("patron", "finance", mfa=True)
    client.post(reverse("account_login"), {"login": user.email, "password": password})
    response = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_staff_session_is_shorter_than_a_patrons(client, make_user, password):
    patron = make_user("patron")
    client.post(reverse("account_login"), {"login": patron.email, "password": password})
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    client.logout()
    editor = make_user("patron", "editor", mfa=True)
    client.post(reverse("account_login"), {"login": editor.email, "password": password})
    client.post(reverse("mfa_authenticate"), {"code": pyotp.TOTP(SECRET).now()})
    client.get(reverse("accounts:profile"))
    assert client.session.get_expiry_age() == settings.STAFF_SESSION_AGE
    assert client.session.get_expire_at_browser_close() is False
    assert settings.STAFF_SESSION_AGE < settings.SESSION_COOKIE_AGE


@pytest.mark.django_db
def test_failed_logins_are_rate_limited(client, make_user, password, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "3/m/ip"}
    user = make_user("patron")
    for _ in range(3):
        client.post(reverse("account_login"), {"login": user.email, "password": "wrong"})
    response = client.post(reverse("account_login"), {"login": user.email, "password": password})
    assert "_auth_user_id" not in client.session
    assert b"Too many failed login attempts" in response.content


@pytest.mark.django_db
def test_profile_page_shows_roles_and_mfa_state(client, make_user):
    client.force_login(make_user("patron", "editor"))
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 200
    assert b"Editor" in response.content
    assert reverse("mfa_activate_totp").encode() in response.content


@pytest.mark.django_db
def test_profile_page_needs_login(client):
    response = client.get(reverse("accounts:profile"))
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
def test_german_login_page_lives_under_de(client):
    response = client.get("/de/accounts/login/")
    assert response.status_code == 200
    assert b'lang="de"' in response.content
