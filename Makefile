# Two commands for a fresh machine: `make demo` and `make test`. Everything else is here for daily work.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: demo test install migrate seed serve lint format checks pytest worker beat messages clean bench

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	@touch $(STAMP)

install: $(STAMP)

## make demo: install, migrate, load the demo data, print the logins, serve on http://127.0.0.1:$(PORT)/
demo: install migrate seed serve

migrate: install
	$(BIN)/python manage.py migrate --no-input

seed: install
	$(BIN)/python manage.py seed_demo

serve: install
	@echo "Serving on http://127.0.0.1:$(PORT)/  (demo logins above; stop with Ctrl-C)"
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

## make test: lint, migrations check, deploy check, the whole pytest suite
test: install lint checks pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

checks: install
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=config.settings.production \
	  SECRET_KEY="check-deploy-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	  DATABASE_URL="sqlite:///$(CURDIR)/var/check-deploy.sqlite3" ALLOWED_HOSTS=funding.example.org \
	  $(BIN)/python manage.py check --deploy --fail-level WARNING

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

## Background jobs (need REDIS_URL; without it tasks run in-process)
worker: install
	$(BIN)/celery -A config worker --loglevel INFO --concurrency 2

beat: install
	$(BIN)/celery -A config beat --loglevel INFO --schedule var/celerybeat-schedule

## Translations: update the German catalogue, then compile it
messages: install
	$(BIN)/python manage.py makemessages -l de --ignore=.venv --ignore=var --no-obsolete
	$(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var db.sqlite3

## make bench: the benchmarks of bench/ on a production-like stack (PostgreSQL, Redis, gunicorn, Celery), one table
bench: install
	$(BIN)/python bench/run.py
