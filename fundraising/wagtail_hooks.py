from wagtail import hooks
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet

from . import receipt_admin  # noqa: F401  (registers the receipt screens)
from .viewsets import PERMISSION_POLICIES, FundraisingViewSetGroup, TierViewSet

for model, policy in PERMISSION_POLICIES.items():
    register_permission_policy(model, policy, exact_class=True)

register_snippet(TierViewSet)


@hooks.register("register_admin_viewset")
def register_fundraising_viewsets():
    return FundraisingViewSetGroup()
