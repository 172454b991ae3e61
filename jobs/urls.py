from django.urls import path

from . import views

urlpatterns = [
    # `make bench`'s baseline (bench/http_bench.py): 404 unless settings.BENCH_TRIVIAL_VIEW is on.
    path("bench/trivial/", views.bench_trivial, name="bench_trivial"),
]
