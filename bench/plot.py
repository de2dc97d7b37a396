"""A line chart as a PNG, in pure Python (zlib + struct): axes, grid, ticks, series, legend.

matplotlib is not a dependency of hub; this draws on a pixel grid with a 5×7 bitmap font
that knows digits, upper-case letters and `. , / % -`.
"""
from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["line_chart"]

_GLYPHS = """\
0 0E11131519110E|1 040C040404040E|2 0E110102040 81F|3 1F020402011 10E|4 02060A121F0202
5 1F101E0101110E|6 0608101E11110E|7 1F010204080808|8 0E11110E11110E|9 0E11110F01020C
A 0E1111111F1111|B 1E11111E11111E|C 0E11101010110E|D 1C121111111 21C|E 1F10101E10101F
F 1F10101E101010|G 0E1110171111 0F|H 1111111F111111|I 0E04040404040E|K 11121418141211
L 1010101010101F|M 111B1515111111|N 11111915131111|O 0E11111111110E|P 1E11111E101010
R 1E11111E141211|S 0F10100E01011E|T 1F040404040404|U 1111111111110E|V 1111111111 0A04
W 111111151515 0A|Y 1111110A040404|. 0000000000 0C0C|/ 00010204081000|% 18190204081303
- 000000 1F000000|, 000000000C0408"""
_FONT: dict[str, list[int]] = {}
for _item in _GLYPHS.replace("\n", "|").split("|"):
    _hex = _item[2:].replace(" ", "")
    _FONT[_item[0]] = [int(_hex[i:i + 2], 16) for i in range(0, 14, 2)]
_FONT[" "] = [0] * 7

Color = tuple[int, int, int]
_COLORS: list[Color] = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189)]
_BLACK, _GRID = (0, 0, 0), (225, 225, 225)


class _Canvas:
    def __init__(self, w: int, h: int) -> None:
        self.w, self.h = w, h
        self.px = bytearray(b"\xff" * (w * h * 3))

    def dot(self, x: int, y: int, c: Color, size: int = 1) -> None:
        for yy in range(y - size // 2, y - size // 2 + size):
            for xx in range(x - size // 2, x - size // 2 + size):
                if 0 <= xx < self.w and 0 <= yy < self.h:
                    i = (yy * self.w + xx) * 3
                    self.px[i:i + 3] = bytes(c)

    def line(self, x0: int, y0: int, x1: int, y1: int, c: Color, size: int = 1) -> None:
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for s in range(steps + 1):
            self.dot(round(x0 + (x1 - x0) * s / steps), round(y0 + (y1 - y0) * s / steps), c, size)

    def text(self, x: int, y: int, s: str, c: Color = _BLACK, scale: int = 2) -> None:
        """Left-aligned at (x, y) = top left; unknown characters draw as blanks."""
        for n, ch in enumerate(s.upper()):
            for row, bits in enumerate(_FONT.get(ch, _FONT[" "])):
                for col in range(5):
                    if bits >> (4 - col) & 1:
                        for d in range(scale * scale):
                            self.dot(x + n * 6 * scale + col * scale + d % scale,
                                     y + row * scale + d // scale, c)

    def png(self) -> bytes:
        rows = b"".join(b"\x00" + self.px[y * self.w * 3:(y + 1) * self.w * 3]
                        for y in range(self.h))

        def chunk(tag: bytes, data: bytes) -> bytes:
            return (struct.pack(">I", len(data)) + tag + data
                    + struct.pack(">I", zlib.crc32(tag + data)))
        header = struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0)  # 8-bit RGB
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def _nice_step(top: float, ticks: int = 5) -> float:
    raw = max(top, 1e-9) / ticks
    mag = 10 ** math.floor(math.log10(raw))
    return float(next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw))


def _label(v: float) -> str:
    return f"{v:,.0f}" if v >= 10 or v == int(v) else f"{v:.1f}"


def line_chart(path: Path, series: Mapping[str, Sequence[tuple[float, float]]], *,
               title: str, x_label: str, y_label: str, w: int = 760, h: int = 460) -> Path:
    """Each series as a line with points, x and y both from 0; writes `path` and returns it."""
    cv = _Canvas(w, h)
    left, right, top, bottom = 90, w - 45, 60, h - 70
    points = [p for pts in series.values() for p in pts]
    xs = _nice_step(max((x for x, _ in points), default=1))
    ys = _nice_step(max((y for _, y in points), default=1))
    xmax = xs * math.ceil(max((x for x, _ in points), default=1) / xs)
    ymax = ys * math.ceil(max((y for _, y in points), default=1) / ys)

    def at(x: float, y: float) -> tuple[int, int]:
        return (round(left + x / xmax * (right - left)), round(bottom - y / ymax * (bottom - top)))

    for i in range(round(ymax / ys) + 1):
        _, py = at(0, i * ys)
        cv.line(left, py, right, py, _GRID)
        label = _label(i * ys)
        cv.text(left - 10 - len(label) * 12, py - 7, label)
    for i in range(round(xmax / xs) + 1):
        px, _ = at(i * xs, 0)
        cv.line(px, top, px, bottom, _GRID)
        label = _label(i * xs)
        cv.text(px - len(label) * 6, bottom + 10, label)
    cv.line(left, top, left, bottom, _BLACK, 2)
    cv.line(left, bottom, right, bottom, _BLACK, 2)
    cv.text((w - len(title) * 12) // 2, 16, title)
    cv.text((left + right - len(x_label) * 12) // 2, h - 32, x_label)
    cv.text(left - 10 - len(y_label) * 12, top - 30, y_label)
    for n, (name, pts) in enumerate(series.items()):
        color = _COLORS[n % len(_COLORS)]
        coords = [at(x, y) for x, y in sorted(pts)]
        for (x0, y0), (x1, y1) in zip(coords, coords[1:], strict=False):
            cv.line(x0, y0, x1, y1, color, 3)
        for x, y in coords:
            cv.dot(x, y, color, 9)
        cv.dot(left + 30, top + 14 + n * 24, color, 12)
        cv.text(left + 44, top + 7 + n * 24, name, color)
    path.write_bytes(cv.png())
    return path
