import pytest
from django.contrib.auth.models import Group


@pytest.mark.django_db
def test_migrate_creates_every_role_group():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "patron",
        "sponsor contact",
        "editor",
        "finance",
    }


@pytest.mark.django_db
def test_roles_sync_is_idempotent():
    from accounts.services import roles_sync

    roles_sync()
    before = {g.name: set(g.permissions.values_list("codename", flat=True)) for g in Group.objects.all()}
    roles_sync()
    after = {g.name: set(g.permissions.values_list("codename", flat=True)) for g in Group.objects.all()}
    assert before == after
    assert "access_admin" in after["editor"]
    assert "access_admin" in after["finance"]
    assert after["patron"] == set()


@pytest.mark.django_db
def test_finance_role_can_see_ledger_but_editor_cannot():
    finance = Group.objects.get(name="finance")
    editor = Group.objects.get(name="editor")
    assert finance.permissions.filter(content_type__app_label="ledger").exists()
    assert not editor.permissions.filter(content_type__app_label="ledger").exists()
