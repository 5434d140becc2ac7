# The commands the README names. `make run` and `make test` are the whole setup.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench-ingest bench-sms bench-dashboard bench-portal bench-assessment bench-vote bench-patrol bench-colours bench-tagging prod-check backup-check lint audit format check-migrations demo messages system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

.env: scripts/write_env.py | $(STAMP)
	$(BIN)/python scripts/write_env.py .env

var:
	mkdir -p var

## run: set everything up and start web server + worker on http://127.0.0.1:8000
run: $(STAMP) .env var
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py demo_city
	@# 90 days of surveys, replies and callbacks, made by the real services (once; ~1 minute
	@# at a lighter 300 contacts a day; the command's default is Shaoxing-like ~750).
	$(BIN)/python manage.py demo_history --events-per-day 300
	$(BIN)/python manage.py demo_portal
	$(BIN)/python manage.py demo_assessment
	$(BIN)/python manage.py demo_votes
	$(BIN)/python manage.py demo_community
	$(BIN)/python manage.py demo_channels
	$(BIN)/python manage.py demo_insight
	@echo "\n==> Open http://127.0.0.1:8000 and sign in with an account above. Ctrl-C stops.\n"
	@# The demo works at any hour: the running demo's SMS are not held back by quiet hours
	@# (demo mode only; 模拟手机 says so). Set here, not in .env, so the history above keeps
	@# its quiet nights. MINYI_DEMO_IGNORE_QUIET_HOURS=false make run keeps them.
	MINYI_DEMO_IGNORE_QUIET_HOURS=$${MINYI_DEMO_IGNORE_QUIET_HOURS:-true} $(BIN)/honcho start -f Procfile.dev

## demo: (re)load the demo city only
demo: $(STAMP) .env var
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py demo_city
	$(BIN)/python manage.py demo_history --events-per-day 300
	$(BIN)/python manage.py demo_portal
	$(BIN)/python manage.py demo_assessment
	$(BIN)/python manage.py demo_votes
	$(BIN)/python manage.py demo_community
	$(BIN)/python manage.py demo_channels
	$(BIN)/python manage.py demo_insight

## test: the whole suite, browser and Kannel tests included (SQLite unless MINYI_DATABASE_URL)
test: $(STAMP) .env var system-deps
	$(BIN)/pytest

## system-deps: Debian's Chromium + CJK font (browser tests), Kannel (SMS gateway tests), nginx (deploy/)
system-deps:
	@bash scripts/browser_deps.sh
	@bash scripts/kannel_deps.sh
	@bash scripts/nginx_deps.sh

## bench-ingest: events API into PostgreSQL vs raw COPY (PostgreSQL on 127.0.0.1:5432)
bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest.py

## bench-sms: surveys out through Kannel vs Kannel alone; replies in vs a bare receiver
bench-sms: $(STAMP) system-deps
	$(BIN)/python bench/sms.py

## bench-dashboard: dashboard pages over 10M replies vs the same figures from raw rows (~30 min)
bench-dashboard: $(STAMP)
	$(BIN)/python bench/dashboard.py

## bench-portal: case-progress and officer-directory pages vs a hello-world view (~6 min)
bench-portal: $(STAMP)
	$(BIN)/python bench/portal.py

## bench-assessment: poll weighting and the annual assessment of 60 stations vs numpy (~5 min)
bench-assessment: $(STAMP)
	$(BIN)/python bench/assessment.py

## bench-vote: vote API ballots/s vs a hello-world view; 45,000 voters in 10 min (~20 min; --tenth)
bench-vote: $(STAMP)
	$(BIN)/python bench/vote.py $(ARGS)

## bench-patrol: patrol passes pings/s vs a raw SELECT; ingest vs COPY; 50 units × 3 days (~5 min; --tenth)
bench-patrol: $(STAMP)
	$(BIN)/python bench/patrol.py $(ARGS)

## bench-colours: colours_compute for 5,000 communities vs a raw SQL count by community (~1 min; --tenth)
bench-colours: $(STAMP)
	$(BIN)/python bench/colours.py $(ARGS)

## bench-tagging: citizens' texts tagged/s (short, long) vs jieba's segmentation of the same texts (~1 min; --tenth)
bench-tagging: $(STAMP)
	$(BIN)/python bench/tagging.py $(ARGS)

## prod-check: deploy/ on loopback (nginx, 2 gunicorn, 2 senders, 2 workers, Kannel) driven through a survey loop (~2 min; ARGS="--scale 1,2 --events 3000")
prod-check: $(STAMP) system-deps
	$(BIN)/python scripts/prod_check.py $(ARGS)

## backup-check: base backup, WAL replay to a point in time and verify.py on a throwaway cluster
backup-check: $(STAMP) .env
	$(BIN)/pytest minyi/core/tests/test_backup_restore.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# Imports point one way (pyproject.toml [tool.importlinter], docs/architecture.md).
	$(BIN)/lint-imports
	@# No logic written twice (pyproject.toml [tool.pylint]).
	$(BIN)/pylint minyi

## audit: Schemathesis over every API operation, the leak matrix, a personal-data scan of
## every response and log line of that run; prints the figures, fails on any (~5 min)
audit: $(STAMP) .env var
	$(BIN)/python scripts/audit/run.py $(ARGS)

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-migrations: $(STAMP) .env
	$(BIN)/python manage.py makemigrations --check --dry-run

## messages: refresh the English catalogue after changing UI strings (needs gettext)
messages: $(STAMP) .env
	$(BIN)/python manage.py makemessages -l en --no-obsolete --ignore '.venv/*' --ignore 'var/*'
	$(BIN)/python manage.py compilemessages -l en --ignore '.venv/*'

clean:
	rm -rf $(VENV) var
