# RepXP. `make run` starts the tray app, `make test` runs every check CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Build: WebKitGTK + GTK for Tauri, D-Bus for the keychain. Run: the tray loads appindicator at run time.
BUILD_PKGS := build-essential pkg-config libwebkit2gtk-4.1-dev libgtk-3-dev libdbus-1-dev libayatana-appindicator3-dev
# Tests: a virtual display, a private session bus, an unlockable keyring, WebDriver for the real webview.
TEST_PKGS := xvfb xauth dbus-daemon gnome-keyring webkit2gtk-driver notification-daemon libsecret-tools

CARGO ?= cargo

.PHONY: help deps deps-test run test lint test-rust bench package icons

help:
	@echo "make run      start the RepXP tray app (local-first; works with no Twenty configured)"
	@echo "make test     install what tests need, then fmt, clippy and every test of the workspace"
	@echo "make bench    benchmarks, results for BENCHMARKS.md"
	@echo "make package  build a .deb"

deps:
	@scripts/apt-ensure.sh $(BUILD_PKGS)

deps-test: deps
	@scripts/apt-ensure.sh $(TEST_PKGS)

run: deps
	$(CARGO) build -p repxp
	scripts/run-app.sh target/debug/repxp

test: deps-test lint test-rust

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Tests run inside a private session (Xvfb, D-Bus, unlocked keyring) that the script starts and stops.
test-rust:
	scripts/with-session.sh $(CARGO) test --workspace --all-targets

bench: deps
	$(CARGO) bench -p repxp-engine --bench award

package: deps
	npx --yes @tauri-apps/cli@^2 build --bundles deb

icons:
	icons/generate.sh
