# RepXP. `make run` starts the tray app, `make test` runs every check CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Build: WebKitGTK + GTK for Tauri, D-Bus for the keychain. Run: the tray loads appindicator at run time.
BUILD_PKGS := build-essential pkg-config libwebkit2gtk-4.1-dev libgtk-3-dev libdbus-1-dev libayatana-appindicator3-dev
# Tests: a virtual display, a private session bus, an unlockable keyring, WebDriver for the real webview;
# PostgreSQL, Redis and zstd for the real Twenty (installed here, before its setup runs in the background).
TEST_PKGS := xvfb xauth dbus-daemon gnome-keyring notification-daemon libsecret-tools iproute2 \
	postgresql redis-server zstd curl

# check-platforms: Debian's Rust builds std for any target; mingw for Windows C; zig (PyPI) for macOS C.
PLATFORM_PKGS := rustc-web cargo-web rust-web-src gcc-mingw-w64-x86-64
# test-browser: a real browser for the web-app client (tests/browser/run.py).
BROWSER_PKGS := chromium chromium-driver
# test-windows: Wine runs what mingw linked (tests/windows/wine-run.sh).
WINDOWS_PKGS := wine wine64

CARGO ?= cargo
# What every cargo call of `make test` selects after test-rust: cargo unifies dependency features
# over the packages and targets a call selects, and a narrower call (`-p repxp`) rebuilt 148 crates
# with other features in one CI run. The whole workspace with its tests builds each crate once.
WORKSPACE := --workspace --all-targets

.PHONY: help deps deps-test deps-platforms check-platforms test-fresh run test lint test-rust test-faults test-fleet bench bench-app package icons demo test-gui test-twenty twenty-prepare deps-windows test-windows test-windows-fake test-windows-tray package-windows test-browser

help:
	@echo "make run      start the RepXP tray app (local-first; works with no Twenty configured)"
	@echo "make test     install what tests need, then fmt, clippy and every test of the workspace"
	@echo "make check-platforms  cargo check of the workspace for Windows and macOS, from Linux"
	@echo "make test-faults  the crash/fault matrix, 1,000 cases (FAULT_CASES, FAULT_SEED)"
	@echo "make test-fleet   1,000 reps sharing one key through an outage (FLEET_REPS)"
	@echo "make bench    benchmarks, results for BENCHMARKS.md"
	@echo "make package  build a .deb"
	@echo "make test-fresh   the .deb and make run in a clean Debian 12 root (slow)"
	@echo "make test-gui the panel end to end: real binary and webview under Xvfb, D-Bus, keyring"
	@echo "make test-twenty  the suites against a real Twenty built from source (tests/real-twenty)"
	@echo "make test-browser web pages awarding XP through RepXP's JavaScript client, in headless Chromium"
	@echo "make test-windows the library and CLI suites and repxp-cli.exe, built for Windows, under Wine"
	@echo "make test-windows-tray  repxp.exe, the tray app built for Windows, and its installer, under Wine and Xvfb"
	@echo "make package-windows   the Windows installer (release build, NSIS), built on Linux"
	@echo "make demo     the app against a local fake Twenty: watch XP sync, go offline, recover"

deps:
	@scripts/apt-ensure.sh $(BUILD_PKGS)

deps-test: deps
	@scripts/apt-ensure.sh $(TEST_PKGS)

run: deps
	$(CARGO) build -p repxp
	scripts/run-app.sh $${CARGO_TARGET_DIR:-target}/debug/repxp

# The real Twenty builds in the background (first time ~7 min, cached after) while Rust builds.
test: deps-test twenty-prepare lint check-platforms test-rust test-browser test-windows test-windows-tray test-twenty test-gui

deps-platforms:
	@scripts/apt-ensure.sh $(PLATFORM_PKGS)
	@python3 -m ziglang version >/dev/null 2>&1 || python3 -m pip install -q ziglang

# Every target a rep's laptop runs, type-checked with no warnings (scripts/check-platforms.sh).
check-platforms: deps-platforms
	scripts/check-platforms.sh x86_64-pc-windows-gnu aarch64-apple-darwin x86_64-apple-darwin

deps-windows: deps-platforms
	@scripts/apt-ensure.sh $(WINDOWS_PKGS)

# The workspace's suites for x86_64-pc-windows-gnu under Wine, then repxp-cli.exe as a rep uses it.
test-windows: deps-windows test-windows-fake
	scripts/test-windows.sh
	tests/windows/cli.sh

# Web pages awarding XP through the JavaScript client, in headless Chromium (no display needed).
test-browser: deps-test
	@scripts/apt-ensure.sh $(BROWSER_PKGS)
	$(CARGO) build -q $(WORKSPACE)
	tests/browser/run.py

# The tray app and its installer under Wine (in `make test`: ~4 min to build repxp.exe after
# test-windows, ~3 min to run; a fresh-clone run with it reached its end in 37.5 min, cold real Twenty).
test-windows-tray: deps-test test-windows
	scripts/windows-cargo.sh build -p repxp
	tests/windows/tray.sh
	tests/windows/installer.sh

# RepXP_<version>_x64-setup.exe in target/windows: a per-user installer (packaging/windows/repxp.nsi).
package-windows: deps-platforms
	scripts/windows-cargo.sh build --release -p repxp -p repxp-cli
	scripts/windows-installer.sh release

# The native fake the Windows CLI talks to (already built when make test ran test-rust).
test-windows-fake:
	$(CARGO) build -q $(WORKSPACE)

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Tests run inside a private session (Xvfb, D-Bus, unlocked keyring) that the script starts and stops.
test-rust:
	scripts/with-session.sh $(CARGO) test --workspace --all-targets -- --skip fault_matrix
	FAULT_CASES=$${FAULT_CASES:-50} $(CARGO) test --workspace --test fault_matrix -- --nocapture
	# The other-writer cases and the admin's flows again against the fake of the June 2025 Twenty.
	FAKE_TWENTY_VERSION=2025-06 $(CARGO) test --workspace --test other_writers --test twenty_flows

# A real Twenty (tests/real-twenty/twenty.sh: built from source once into ~/.cache/repxp, started,
# stopped): the other-writer suite and the admin's flows against it, then the fake and the real
# server answering the same requests (tests/twenty-compat/compare.py).
test-twenty: deps-test
	tests/real-twenty/suites.sh

twenty-prepare: deps-test
	@tests/real-twenty/twenty.sh prepare

# Fleet simulation: FLEET_REPS engines (default 1000) sharing one key and one rate limit.
test-fleet: deps-test
	FLEET_REPS=$${FLEET_REPS:-1000} FLEET_MINUTE_MS=$${FLEET_MINUTE_MS:-3000} $(CARGO) test -p repxp-fake-twenty --test fleet -- --nocapture

# The full crash/fault matrix: FAULT_CASES (default 1000), FAULT_SEED (default random, printed).
test-faults: deps-test
	FAULT_CASES=$${FAULT_CASES:-1000} $(CARGO) test -p repxp-cli --test fault_matrix -- --nocapture

bench: deps
	$(CARGO) bench -p repxp-engine --bench award
	$(CARGO) bench -p repxp-fake-twenty --bench flush

# The desktop app's memory, CPU, wakeups, start time and size beside a bare Tauri tray app built
# with the same release profile (bench/baseline-tray); it builds what is missing (~25 min cold).
bench-app: deps-test
	@scripts/apt-ensure.sh xdotool imagemagick
	bench/app-bench.sh

# The bundler names the Debian package after productName, kebab-cased ("rep-xp"); build it as
# "repxp" and keep the menu name "RepXP" through the desktop template, whose Exec is the launcher
# /usr/bin/repxp-open (no WebKit: a second launch opens the panel ~100 ms sooner; cli/src/open.rs).
package: deps
	$(CARGO) build --release -p repxp-cli --bin repxp-open
	npx --yes @tauri-apps/cli@^2 build --bundles deb \
	  --config '{"productName":"repxp","bundle":{"linux":{"deb":{"desktopTemplate":"packaging/repxp.desktop.hbs","files":{"/usr/bin/repxp-open":"'"$${CARGO_TARGET_DIR:-target}"'/release/repxp-open"}}}}}'

# Fresh-machine claims in a clean Debian 12 root (debootstrap; scripts/fresh-machine-test.sh):
# the .deb from `make package`, and `make run` with no desktop. Slow (a cold build): not in `test`.
test-fresh: package
	scripts/fresh-machine-test.sh deb
	scripts/fresh-machine-test.sh make-run

icons:
	icons/generate.sh

# The app against fake-twenty on a random loopback port, in a temp data dir (scripts/demo.sh).
demo: deps
	$(CARGO) build -p repxp-fake-twenty --bin fake-twenty
	$(CARGO) build -p repxp
	scripts/demo.sh target/debug/repxp target/debug/fake-twenty

# The real binary and webview, driven with X input; screenshots to docs/screenshots/ (scripts/e2e-gui.sh).
test-gui: deps-test
	@scripts/apt-ensure.sh xdotool imagemagick curl python3 libx11-dev procps trayer x11-utils fontconfig
	$(CARGO) build $(WORKSPACE)
	scripts/with-session.sh scripts/e2e-gui.sh
