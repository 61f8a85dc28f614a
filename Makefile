# Two commands do everything on a fresh machine: `make test` and (soon) `make speedrun`.
# Setup is idempotent: the stamp file is rebuilt only when pyproject.toml changes.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup browser test bench clean speedrun

setup: $(STAMP)

# The web-chat tests drive Debian's Chromium (Playwright's own browser download cannot work
# offline); CJK fonts so Chinese renders. Skipped with a note where apt is not available.
browser:
	@test -x /usr/bin/chromium || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		chromium fonts-noto-cjk >/dev/null; } || echo "note: chromium not installed; the web-chat tests will skip"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch==2.13.0 first: the CPU wheel on this disk, so nothing pulls a CUDA build.
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

test: setup browser
	$(PY) -m pytest

bench: setup
	$(PY) benchmarks/train_step.py

clean:
	rm -rf $(VENV) build *.egg-info

# The main job: set up, then tokenizer -> pretrain -> SFT -> GRPO -> eval into runs/speedrun/.
# Rerunning continues an unfinished run. PROFILE=tiny for a 3-minute smoke test.
PROFILE ?= speedrun
speedrun: setup
	$(VENV)/bin/nanoseek speedrun --profile $(PROFILE)
