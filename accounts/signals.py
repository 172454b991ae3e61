from __future__ import annotations

from allauth.account.signals import user_signed_up
from django.dispatch import receiver

from . import services


@receiver(user_signed_up)
def give_new_users_the_patron_role(sender, request, user, **kwargs):
    services.user_grant_role(user=user, role_name="patron")
