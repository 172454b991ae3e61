from wagtail import hooks
from wagtail.permissions import register_permission_policy

from . import bank_hooks  # noqa: F401 (bank statements and manual bookings register their screens)
from .viewsets import PERMISSION_POLICIES, LedgerViewSetGroup

for model, policy in PERMISSION_POLICIES.items():
    register_permission_policy(model, policy, exact_class=True)


@hooks.register("register_admin_viewset")
def register_ledger_viewsets():
    return LedgerViewSetGroup()
