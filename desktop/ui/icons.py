"""Small line icons drawn here as SVG and tinted to the palette, plus the app icon from resources/."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from desktop.core.paths import resources_dir

_PATHS = {
    "plus": '<path d="M12 5v14M5 12h14"/>',
    "send": '<path d="M12 19V5M6 11l6-6 6 6"/>',
    "stop": '<rect x="7" y="7" width="10" height="10" rx="1.5" fill="{c}"/>',
    "copy": '<rect x="9" y="9" width="11" height="11" rx="2"/><path d="M5 15V6a2 2 0 0 1 2-2h8"/>',
    "regenerate": '<path d="M20 11a8 8 0 1 0-2.3 5.7"/><path d="M20 5v6h-6"/>',
    "sources": '<path d="M5 4h10l4 4v12H5z"/><path d="M9 12h6M9 16h6"/>',
    "library": '<path d="M5 4v16M10 4v16"/><path d="M14.5 5.2l4 15"/>',
    "chat": '<path d="M5 5h14v10H9l-4 4z"/>',
    "search": '<circle cx="11" cy="11" r="6"/><path d="M20 20l-4.5-4.5"/>',
    "settings": '<circle cx="12" cy="12" r="3"/><path d="M12 3v3M12 18v3M3 12h3M18 12h3M5.6 5.6l2.1 2.1'
                'M16.3 16.3l2.1 2.1M5.6 18.4l2.1-2.1M16.3 7.7l2.1-2.1"/>',
    "back": '<path d="M15 5l-7 7 7 7"/>',
    "external": '<path d="M14 4h6v6M20 4l-9 9"/><path d="M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5"/>',
    "folder": '<path d="M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z"/>',
    "file": '<path d="M6 3h8l5 5v13H6z"/><path d="M14 3v5h5"/>',
    "pause": '<path d="M9 6v12M15 6v12"/>',
    "play": '<path d="M8 5l11 7-11 7z"/>',
    "close": '<path d="M6 6l12 12M18 6L6 18"/>',
    "warning": '<path d="M12 4l9 16H3z"/><path d="M12 10v4M12 17v.5"/>',
    "model": '<path d="M12 3l8 4.5v9L12 21l-8-4.5v-9z"/><path d="M12 12l8-4.5M12 12v9M12 12L4 7.5"/>',
    "check": '<path d="M5 12l5 5 9-10"/>',
}


def _svg(name: str, color: str) -> bytes:
    body = _PATHS[name].replace("{c}", color)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" '
        f'stroke="{color}" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">{body}</svg>'
    ).encode()


def _render(svg: bytes, size: int) -> QPixmap:
    app = QGuiApplication.instance()
    ratio = app.devicePixelRatio() if isinstance(app, QGuiApplication) else 1.0
    pixmap = QPixmap(round(size * ratio), round(size * ratio))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(QByteArray(svg)).render(painter, QRectF(0, 0, pixmap.width(), pixmap.height()))
    painter.end()
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


@cache
def _icon(name: str, color: str, size: int) -> QIcon:
    return QIcon(_render(_svg(name, color), size))


def icon(name: str, color: QColor, size: int = 18) -> QIcon:
    return _icon(name, color.name(), size)


def app_icon() -> QIcon:
    """The window and taskbar icon: resources/hearth.svg, with the PNG as a fallback."""
    folder = resources_dir()
    result = QIcon()
    svg = folder / "hearth.svg"
    if svg.is_file():
        data = svg.read_bytes()
        for size in (16, 24, 32, 48, 64, 128, 256):
            result.addPixmap(_render(data, size))
    elif (folder / "hearth.png").is_file():
        result.addFile(str(folder / "hearth.png"))
    return result


def app_pixmap(size: int) -> QPixmap:
    svg = resources_dir() / "hearth.svg"
    return _render(svg.read_bytes(), size) if svg.is_file() else QPixmap()
