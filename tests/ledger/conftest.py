import datetime

import pytest
from django.db import connection


def require_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://...")


@pytest.fixture
def past_month():
    """The first day of a month that has certainly ended, for closing tests."""
    return datetime.date(2025, 3, 1)
