#!/usr/bin/env bash
# Renders the PNGs Tauri and the tray need from the SVG sources in this folder.
# Needs rsvg-convert (Debian: librsvg2-bin). Run after editing an SVG; the PNGs are committed so a
# build needs no SVG tooling.
set -euo pipefail
cd "$(dirname "$0")"
command -v rsvg-convert >/dev/null || { echo "needs rsvg-convert (apt-get install librsvg2-bin)" >&2; exit 1; }
for size in 32 128 256; do rsvg-convert -w $size -h $size app.svg -o ${size}x${size}.png; done
rsvg-convert -w 512 -h 512 app.svg -o icon.png
for state in synced syncing queued error paused offline; do
  rsvg-convert -w 64 -h 64 tray-$state.svg -o tray-$state.png
done
echo "icons written"
