"""Staff pages: nobody without a staff role and MFA gets one."""

import pytest
from django.urls import reverse

STAFF_URLS = ["/admin/", "/admin/pages/", "/admin/users/", "/django-admin/", "/django-admin/accounts/user/"]


def _opens(response) -> bool:
    return response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("url", STAFF_URLS)
def test_anonymous_visitor_gets_no_staff_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
@pytest.mark.parametrize("url", STAFF_URLS)
@pytest.mark.parametrize("role", ["patron", "sponsor contact"])
def test_patron_and_sponsor_contact_get_no_staff_page_even_with_mfa(client, make_user, url, role):
    client.force_login(make_user(role, mfa=True))
    assert not _opens(client.get(url))


@pytest.mark.django_db
@pytest.mark.parametrize("url", STAFF_URLS)
@pytest.mark.parametrize("role", ["editor", "finance"])
def test_staff_without_mfa_is_sent_to_set_up_mfa(client, make_user, url, role):
    client.force_login(make_user("patron", role))
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


@pytest.mark.django_db
def test_superuser_without_mfa_is_sent_to_set_up_mfa(client, make_user):
    client.force_login(make_user(is_superuser=True, is_staff=True))
    response = client.get("/admin/")
    assert response["Location"] == reverse("mfa_activate_totp")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["editor", "finance"])
def test_staff_with_mfa_opens_the_wagtail_admin(client, make_user, role):
    client.force_login(make_user("patron", role, mfa=True))
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["editor", "finance"])
def test_django_admin_is_for_superusers_only(client, make_user, role):
    client.force_login(make_user("patron", role, mfa=True))
    assert not _opens(client.get("/django-admin/"))


@pytest.mark.django_db
def test_superuser_with_mfa_opens_the_django_admin(client, make_user):
    client.force_login(make_user(is_superuser=True, is_staff=True, mfa=True))
    assert client.get("/django-admin/").status_code == 200


@pytest.mark.django_db
def test_editor_can_edit_pages_but_finance_cannot(client, make_user):
    from wagtail.models import Page

    home = Page.objects.get(depth=2)
    client.force_login(make_user("patron", "editor", mfa=True))
    assert client.get(f"/admin/pages/{home.pk}/edit/").status_code == 200
    client.force_login(make_user("patron", "finance", mfa=True))
    assert client.get(f"/admin/pages/{home.pk}/edit/").status_code in (302, 403)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/django-admin/login/"])
def test_admin_login_forms_redirect_to_allauth(client, path):
    response = client.get(path + "?next=/admin/pages/")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_login") + "?next=%2Fadmin%2Fpages%2F"


@pytest.mark.django_db
def test_admin_login_redirect_refuses_outside_next_url(client):
    response = client.get("/admin/login/?next=https://evil.example/")
    assert "evil.example" not in response["Location"]


@pytest.mark.django_db
def test_admin_login_form_cannot_be_posted_directly(client, make_user, password):
    user = make_user("patron", "editor", mfa=True)
    client.post("/admin/login/", {"username": user.email, "password": password})
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_public_pages_refuse_framing_but_admin_allows_same_origin_preview(editor_client):
    assert editor_client.get("/accounts/login/")["X-Frame-Options"] == "DENY"
    assert editor_client.get("/admin/")["X-Frame-Options"] == "SAMEORIGIN"
