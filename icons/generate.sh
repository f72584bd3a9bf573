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
  # macOS menu-bar "template" image: black and alpha only (the system tints it for light and
  # dark bars), so the state shows as the badge's glyph cut out of a solid disc.
  glyph=$(grep '<path d="M[0-9]* [0-9]* [avlh]' tray-$state.svg | sed 's/stroke="#fff"/stroke="#000"/')
  rsvg-convert -w 64 -h 64 -o tray-$state-template.png /dev/stdin <<SVG
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">
  <defs><mask id="cut"><rect width="64" height="64" fill="#fff"/>$glyph</mask></defs>
  <path d="M32 4 L39 22 L58 23 L43 35 L48 54 L32 43 L16 54 L21 35 L6 23 L25 22 Z" fill="none" stroke="#000" stroke-width="4" stroke-linejoin="round"/>
  <circle cx="50" cy="50" r="14" fill="#000" mask="url(#cut)"/>
</svg>
SVG
done
# Windows and macOS bundles need .ico and .icns; the Tauri CLI derives them from icon.png.
npx --yes @tauri-apps/cli@^2 icon icon.png -o "${TMPDIR:-/tmp}/repxp-icons" >/dev/null 2>&1
cp "${TMPDIR:-/tmp}/repxp-icons/icon.ico" "${TMPDIR:-/tmp}/repxp-icons/icon.icns" .
echo "icons written"
