from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from . import roles


def user_grant_role(*, user, role_name: str) -> None:
    if role_name not in roles.ROLES_BY_NAME:
        raise ValueError(f"Unknown role {role_name!r}")
    group, _ = Group.objects.get_or_create(name=role_name)
    user.groups.add(group)
    user.__dict__.pop("_role_names", None)


def _permissions(names) -> list[Permission]:
    wanted = {tuple(name.split(".", 1)) for name in names}
    if not wanted:
        return []
    found = Permission.objects.filter(content_type__app_label__in={a for a, _ in wanted}).select_related(
        "content_type"
    )
    return [p for p in found if (p.content_type.app_label, p.codename) in wanted]


@transaction.atomic
def roles_sync() -> None:
    """Create the role groups and give them exactly the permissions in accounts.roles (idempotent)."""
    from wagtail.models import Collection, GroupCollectionPermission, GroupPagePermission, Page

    root_page = Page.get_first_root_node()
    root_collection = Collection.get_first_root_node()
    for role in roles.ROLES:
        group, _ = Group.objects.get_or_create(name=role.name)
        group.permissions.set(_permissions(role.permissions))
        if root_page is not None:
            page_permissions = _permissions(f"wagtailcore.{codename}" for codename in role.page_permissions)
            GroupPagePermission.objects.filter(group=group).exclude(permission__in=page_permissions).delete()
            for permission in page_permissions:
                GroupPagePermission.objects.get_or_create(group=group, page=root_page, permission=permission)
        if root_collection is not None:
            collection_permissions = _permissions(
                f"{app}.{codename}"
                for app, codenames in role.collection_permissions.items()
                for codename in codenames
            )
            GroupCollectionPermission.objects.filter(group=group).exclude(
                permission__in=collection_permissions
            ).delete()
            for permission in collection_permissions:
                GroupCollectionPermission.objects.get_or_create(
                    group=group, collection=root_collection, permission=permission
                )
