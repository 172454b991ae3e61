import pytest


@pytest.fixture(autouse=True)
def _tasks_in_process(request):
    """Tasks run in this process here, also in the run that has a real worker, except in the tests that
    use the worker itself (``celery_worker``)."""
    if "celery_worker" in request.fixturenames:
        yield
        return
    request.getfixturevalue("eager_tasks")
    yield
