"""Staff screens of grants. Each module registers its own viewsets, admin URLs and menu items on import."""

from . import dashboard, document_admin, pay_import_admin, viewsets  # noqa: F401
