#!/usr/bin/env python3
"""Draws the app icons (a white house on Fieldclose green) as maskable PNGs, without Pillow.

Run once when the icon changes: python3 scripts/make-icons.py
The house stays inside the central 60% so every mask shape keeps it whole.
"""
import struct
import zlib

GREEN = (11, 93, 59)
WHITE = (255, 255, 255)
AMBER = (255, 196, 0)


def pixel(x, y):
    # Coordinates in 0..1 of the icon.
    roof = 0.30 <= y <= 0.50 and abs(x - 0.5) <= (y - 0.30) * 1.2
    body = 0.48 <= y <= 0.74 and 0.30 <= x <= 0.70
    door = 0.58 <= y <= 0.74 and 0.45 <= x <= 0.55
    if door:
        return AMBER
    if roof or body:
        return WHITE
    return GREEN


def png(size, path):
    rows = []
    for j in range(size):
        row = bytearray([0])
        for i in range(size):
            row.extend(pixel((i + 0.5) / size, (j + 0.5) / size))
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    for s in (192, 512):
        png(s, f"public/icons/icon-{s}.png")
    # Browsers ask for /favicon.ico on their own; a PNG inside is understood by all of them.
    png(48, "public/favicon.ico")
