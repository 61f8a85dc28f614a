# Two commands do everything on a fresh machine: `make test` and (soon) `make speedrun`.
# Setup is idempotent: the stamp file is rebuilt only when pyproject.toml changes.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

WEB := nanoseek/serve/web
VENDOR := $(WEB)/vendor

.PHONY: setup browser web test bench clean speedrun

setup: $(STAMP)

# The web-chat tests drive Debian's Chromium (Playwright's own browser download cannot work
# offline); CJK fonts so Chinese renders. Skipped with a note where apt is not available.
browser:
	@test -x /usr/bin/chromium || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		chromium fonts-noto-cjk >/dev/null; } || echo "note: chromium not installed; the web-chat tests will skip"

# The web chat's Markdown, math and sanitiser libraries: the exact versions and integrity hashes
# in $(WEB)/package-lock.json, from the npm registry; the files the page loads are copied into
# $(VENDOR)/ (not committed) for the server to serve, and node_modules/ is removed. Rebuilt
# only when the lock file changes; skipped with a note where npm is missing (the page then
# shows replies as plain text).
web: $(VENDOR)/.installed

$(VENDOR)/.installed: $(WEB)/package-lock.json
	@if ! command -v npm >/dev/null; then echo "note: npm not found; the web chat will show plain text"; exit 0; fi; \
	set -e; cd $(WEB); \
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error; \
	rm -rf vendor; mkdir -p vendor/katex; \
	cp node_modules/markdown-it/dist/browser/markdown-it.umd.min.js vendor/markdown-it.min.js; \
	cp node_modules/dompurify/dist/purify.min.js vendor/; \
	cp -r node_modules/katex/dist/katex.min.js node_modules/katex/dist/katex.min.css node_modules/katex/dist/fonts vendor/katex/; \
	for p in markdown-it dompurify katex; do cp node_modules/$$p/LICENSE vendor/$$p.LICENSE; done; \
	rm -rf node_modules; touch vendor/.installed

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch==2.13.0 first: the CPU wheel on this disk, so nothing pulls a CUDA build.
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

# One worker per core (at most 4): each test runs on one thread, and the slowest ones wait on
# torch.compile, which a second worker overlaps.
test: setup browser web
	$(PY) -m pytest -n auto --maxprocesses 4 --dist worksteal

bench: setup
	$(PY) benchmarks/train_step.py

clean:
	rm -rf $(VENV) build *.egg-info $(VENDOR)

# The main job: set up, then tokenizer -> pretrain -> SFT -> GRPO -> eval into runs/speedrun/.
# Rerunning continues an unfinished run. PROFILE=tiny for a 3-minute smoke test;
# ARGS=--no-time-budget trains every step however long a slower CPU takes.
PROFILE ?= speedrun
speedrun: setup
	$(VENV)/bin/nanoseek speedrun --profile $(PROFILE) $(ARGS)
