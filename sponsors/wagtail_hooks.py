"""Staff screens of sponsors: one "Sponsors" menu group (sponsors/viewsets.py).

The group is registered through ``register_snippet`` because it holds the Package snippet (drafts and
revisions); registered this way, the ``publish_package`` permission exists after ``migrate``.
"""

from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet

from .viewsets import PERMISSION_POLICIES, SponsorsViewSetGroup

for model, policy in PERMISSION_POLICIES.items():
    register_permission_policy(model, policy, exact_class=True)

register_snippet(SponsorsViewSetGroup)
