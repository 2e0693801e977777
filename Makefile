# Two commands do all set-up on a fresh Debian 12 / Ubuntu machine with Python 3.11:
#   make run    install, fetch the models, start Hearth
#   make test   install, run the whole suite
# Both are idempotent: stamps make the second run quick.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# tesseract-ocr reads images and scanned PDF pages (desktop/ingest/loaders/ocr.py); strace proves it opens no socket.
APT_PACKAGES := sqlite3-doc git-doc xvfb xauth poppler-utils fonts-dejavu-core libegl1 libgl1 libfontconfig1 \
	libdbus-1-3 libglib2.0-0 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 \
	libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xinerama0 libxcb-shape0 libxcb-randr0 \
	libxcb-xkb1 libnss3 libxcomposite1 libxdamage1 libxrandr2 libxtst6 libasound2 \
	tesseract-ocr tesseract-ocr-eng strace

.PHONY: run test test-remote test-unit crash-soak lint bench eval screenshots dist test-dist models system clean

run: .stamp-install models
	$(PY) -m desktop

test: .stamp-install models
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider
	$(MAKE) --no-print-directory lint

# Hearth against real servers on 127.0.0.1: `chroma run` and llama-cpp-python's OpenAI-compatible server
# with the default model (started and killed by the tests themselves; about 5 minutes on 2 cores).
test-remote: .stamp-install models
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider -m remote

# The fast logic tests alone (no model, embedder or Qt): seconds, for the edit-test loop.
test-unit: .stamp-install
	$(PY) -m pytest -q -p no:cacheprovider tests/unit

# The random-kill test at length: `make test` kills 8 times, this 60 times (about 15 minutes).
crash-soak: .stamp-install models
	HEARTH_CRASH_RUNS=60 $(PY) -m pytest -q -p no:cacheprovider -s tests/test_crash.py

lint: .stamp-install
	$(VENV)/bin/ruff check desktop tests benchmarks docs
	$(VENV)/bin/mypy desktop tests benchmarks docs
	$(VENV)/bin/lint-imports

models: .stamp-install
	$(PY) -m desktop.fetch_models

bench: .stamp-install models
	for bench in benchmarks/bench_*.py; do $(PY) $$bench || exit 1; done

# Both dev corpora indexed in one data folder (about 20 minutes the first time), then every set scored
# within its own corpus, vector-only against hybrid; `benchmarks/retrieval_lab.py` compares the rest.
EVAL_HOME ?= /tmp/hearth-eval
eval: .stamp-install models
	HEARTH_HOME=$(EVAL_HOME) $(VENV)/bin/hearth index --quiet /usr/share/doc/sqlite3 /usr/share/doc/git-doc || true
	HEARTH_HOME=$(EVAL_HOME) $(VENV)/bin/hearth eval --sets benchmarks/dev_sets.toml --compare vector hybrid
	$(PY) benchmarks/baseline_naive.py --sets benchmarks/dev_sets.toml

# System packages: only what is missing is installed, so a second run asks apt nothing.
.stamp-system:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi
	touch $@

# llama-cpp-python compiles from source (about 6 minutes) for any x86-64 with AVX2, not just this
# processor: a wheel built with -march=native, found in a pip cache filled on another machine, dies
# with SIGILL at the first token. The portable wheel is kept outside pip's cache, keyed by version.
LLAMA_VERSION := $(shell sed -n 's/.*"llama-cpp-python==\([^"]*\)".*/\1/p' pyproject.toml)
LLAMA_WHEELS := $(HOME)/.cache/hearth/llama-cpp-python-$(LLAMA_VERSION)-portable

.stamp-install: pyproject.toml .stamp-system
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel
	ls $(LLAMA_WHEELS)/*.whl >/dev/null 2>&1 || CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PY) -m pip wheel -q \
		--no-cache-dir --no-deps -w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(PY) -m pip install -q --force-reinstall --no-deps $(LLAMA_WHEELS)/*.whl
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

system: .stamp-system

clean:
	rm -rf $(VENV) .stamp-* build dist

# The one-folder app, dist/Hearth/ (see build.spec and README "Packaging"): about a minute, about 570 MB.
dist: .stamp-install models
	$(VENV)/bin/pyinstaller build.spec --noconfirm --log-level WARN --workpath build/pyinstaller --distpath dist
	@du -sh dist/Hearth

# Builds the bundle afresh and checks it moved elsewhere and offline: --version, --selftest, the window.
test-dist: .stamp-install models
	$(PY) -m pytest -q -p no:cacheprovider -m packaging -s tests/packaging

screenshots: .stamp-install models
	QT_QPA_PLATFORM=offscreen $(PY) docs/make_screenshots.py
