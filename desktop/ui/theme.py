"""Colours and the style sheet, derived from the system palette so light and dark both follow it.

Only the accent (an ember orange, Hearth's own) is fixed; every other colour is a blend of the
palette's window, base and text colours, recomputed whenever the palette or colour scheme changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette

ACCENT_LIGHT = "#c4521d"
ACCENT_DARK = "#f08a4b"


def mix(a: QColor, b: QColor, amount: float) -> QColor:
    """``amount`` of ``b`` over ``a``."""
    return QColor(
        round(a.red() + (b.red() - a.red()) * amount),
        round(a.green() + (b.green() - a.green()) * amount),
        round(a.blue() + (b.blue() - a.blue()) * amount),
    )


@dataclass(frozen=True)
class Colors:
    dark: bool
    base: QColor  # reading surfaces: chat, lists
    window: QColor
    text: QColor
    muted: QColor
    faint: QColor
    border: QColor
    sidebar: QColor
    hover: QColor
    selected: QColor
    accent: QColor
    accent_hover: QColor
    on_accent: QColor
    user_bubble: QColor
    passage: QColor  # highlight of a cited passage in the viewer
    danger: QColor
    danger_bg: QColor
    ok: QColor
    remote: QColor  # something leaves the machine: never the offline green

    @classmethod
    def from_palette(cls, palette: QPalette) -> Colors:
        window = palette.color(QPalette.ColorRole.Window)
        text = palette.color(QPalette.ColorRole.WindowText)
        dark = window.lightness() < 128
        base = palette.color(QPalette.ColorRole.Base)
        if dark:
            base = mix(window, QColor("#000000"), 0.18)
        accent = QColor(ACCENT_DARK if dark else ACCENT_LIGHT)
        return cls(
            dark=dark,
            base=base,
            window=window,
            text=text,
            muted=mix(text, base, 0.42),
            faint=mix(text, base, 0.62),
            border=mix(base, text, 0.13 if dark else 0.11),
            sidebar=mix(window, base, 0.35) if not dark else mix(base, window, 0.55),
            hover=mix(base, text, 0.07),
            selected=mix(base, accent, 0.16 if dark else 0.12),
            accent=accent,
            accent_hover=accent.lighter(112) if dark else accent.darker(112),
            on_accent=QColor("#1b0d05") if dark else QColor("#ffffff"),
            user_bubble=mix(base, accent, 0.16 if dark else 0.09),
            passage=QColor("#6b4a12") if dark else QColor("#ffe7a3"),
            danger=QColor("#ff8a80") if dark else QColor("#b3261e"),
            danger_bg=mix(base, QColor("#d93025"), 0.18 if dark else 0.08),
            ok=QColor("#7fd18b") if dark else QColor("#1e7b34"),
            remote=QColor("#ffb74d") if dark else QColor("#a04d00"),
        )


def stylesheet(c: Colors) -> str:
    def h(color: QColor) -> str:
        return color.name()

    return f"""
QMainWindow, QDialog {{ background: {h(c.base)}; }}
QWidget#Sidebar {{ background: {h(c.sidebar)}; border-right: 1px solid {h(c.border)}; }}
QWidget#SidePanel {{ background: {h(c.sidebar)}; border-left: 1px solid {h(c.border)}; }}
QWidget#ChatPage, QWidget#LibraryPage, QScrollArea#ChatScroll, QWidget#ChatColumn {{ background: {h(c.base)}; }}
QScrollArea {{ border: none; background: transparent; }}
QScrollArea > QWidget > QWidget {{ background: transparent; }}
QSplitter::handle {{ background: {h(c.border)}; }}

QLabel#AppTitle {{ font-size: 15pt; font-weight: 600; }}
QLabel#PageTitle {{ font-size: 13pt; font-weight: 600; }}
QLabel#SectionTitle {{ font-weight: 600; }}
QLabel#Muted {{ color: {h(c.muted)}; }}
QLabel#Faint {{ color: {h(c.faint)}; }}
QLabel#EmptyTitle {{ font-size: 17pt; font-weight: 600; }}
QLabel#EmptyText {{ color: {h(c.muted)}; font-size: 10.5pt; }}
QLabel#Author {{ font-weight: 600; }}
QTextBrowser#AnswerText {{ font-size: 10.5pt; }}
QLabel#QuestionText {{ font-size: 10.5pt; }}
QLabel#StatusNote {{ color: {h(c.muted)}; font-style: italic; }}
QLabel#ErrorNote {{ color: {h(c.danger)}; }}

QPushButton {{
    border: 1px solid {h(c.border)}; border-radius: 7px; padding: 5px 12px;
    background: {h(c.base)}; color: {h(c.text)};
}}
QPushButton:hover {{ background: {h(c.hover)}; }}
QPushButton:pressed {{ background: {h(c.selected)}; }}
QPushButton:disabled {{ color: {h(c.faint)}; }}
QPushButton#Primary {{
    background: {h(c.accent)}; color: {h(c.on_accent)}; border: 1px solid {h(c.accent)}; font-weight: 600;
}}
QPushButton#Primary:hover {{ background: {h(c.accent_hover)}; border-color: {h(c.accent_hover)}; }}
QPushButton#Primary:disabled {{ background: {h(c.border)}; border-color: {h(c.border)}; color: {h(c.faint)}; }}
QPushButton#NavButton {{
    border: none; background: transparent; text-align: left; padding: 7px 10px; border-radius: 8px;
}}
QPushButton#NavButton:hover {{ background: {h(c.hover)}; }}
QPushButton#NavButton:checked {{ background: {h(c.selected)}; font-weight: 600; }}
QPushButton#SendButton {{
    background: {h(c.accent)}; border: none; border-radius: 17px; padding: 0;
    min-width: 34px; max-width: 34px; min-height: 34px; max-height: 34px;
}}
QPushButton#SendButton:hover {{ background: {h(c.accent_hover)}; }}
QPushButton#SendButton:disabled {{ background: {h(c.border)}; }}
QPushButton#Chip {{
    border: 1px solid {h(c.border)}; border-radius: 13px; padding: 3px 12px; background: {h(c.base)};
    color: {h(c.muted)};
}}
QPushButton#Chip:hover {{ color: {h(c.text)}; background: {h(c.hover)}; }}
QPushButton#Chip:checked {{ color: {h(c.text)}; background: {h(c.selected)}; border-color: {h(c.accent)}; }}
QToolButton {{ border: none; border-radius: 6px; padding: 3px 6px; color: {h(c.muted)}; background: transparent; }}
QToolButton:hover {{ background: {h(c.hover)}; color: {h(c.text)}; }}
QToolButton:checked {{ background: {h(c.selected)}; color: {h(c.text)}; }}
QToolButton::menu-indicator {{ image: none; width: 0; }}

QLineEdit {{
    border: 1px solid {h(c.border)}; border-radius: 7px; padding: 5px 8px; background: {h(c.base)};
    selection-background-color: {h(c.selected)}; selection-color: {h(c.text)};
}}
QLineEdit:focus {{ border-color: {h(c.accent)}; }}
QLineEdit:disabled {{ background: {h(c.window)}; color: {h(c.faint)}; }}
QFrame#Composer {{ background: {h(c.base)}; border: 1px solid {h(c.border)}; border-radius: 14px; }}
QFrame#Composer[focused="true"] {{ border-color: {h(c.accent)}; }}
QPlainTextEdit#ComposerInput {{ border: none; background: transparent; font-size: 10.5pt; }}

QListView#ConversationList {{ border: none; background: transparent; outline: none; }}
QListView#ConversationList::item {{ border-radius: 8px; padding: 7px 10px; margin: 1px 0; color: {h(c.text)}; }}
QListView#ConversationList::item:hover {{ background: {h(c.hover)}; }}
QListView#ConversationList::item:selected {{ background: {h(c.selected)}; color: {h(c.text)}; }}

QFrame#UserBubble {{ background: {h(c.user_bubble)}; border-radius: 14px; }}
QFrame#SourceCard {{ background: {h(c.base)}; border: 1px solid {h(c.border)}; border-radius: 10px; }}
QFrame#SourceCard:hover {{ border-color: {h(c.accent)}; }}
QFrame#SourceCard[cited="true"] {{ border-color: {h(mix(c.border, c.accent, 0.55))}; }}
QFrame#SourceCard[cited="true"]:hover {{ border-color: {h(c.accent)}; }}
QLabel#CiteBadge {{
    background: {h(c.selected)}; color: {h(c.accent)}; border-radius: 9px; padding: 0 6px; font-weight: 600;
}}
QFrame#DropTarget {{ border: 2px dashed {h(c.border)}; border-radius: 16px; background: {h(c.base)}; }}

QFrame#Banner {{ background: {h(c.danger_bg)}; border: 1px solid {h(mix(c.danger_bg, c.danger, 0.35))};
    border-radius: 10px; }}
QFrame#Banner QLabel {{ color: {h(c.text)}; }}
QFrame#IndexingBar {{ background: {h(c.sidebar)}; border-top: 1px solid {h(c.border)}; }}
QProgressBar {{ border: none; background: {h(c.hover)}; border-radius: 3px; max-height: 6px; min-height: 6px; }}
QProgressBar::chunk {{ background: {h(c.accent)}; border-radius: 3px; }}

QStatusBar {{ background: {h(c.sidebar)}; color: {h(c.muted)}; border-top: 1px solid {h(c.border)}; }}
QStatusBar QLabel {{ color: {h(c.muted)}; padding: 0 6px; }}
QStatusBar::item {{ border: none; }}
QLabel#OfflinePill {{
    color: {h(c.ok)}; border: 1px solid {h(mix(c.base, c.ok, 0.5))}; border-radius: 9px; padding: 0 8px;
}}
QLabel#RemotePill {{
    color: {h(c.remote)}; border: 1px solid {h(mix(c.base, c.remote, 0.5))}; border-radius: 9px; padding: 0 8px;
}}

QTreeView, QTableView {{
    border: 1px solid {h(c.border)}; border-radius: 10px; background: {h(c.base)}; outline: none;
    selection-background-color: {h(c.selected)}; selection-color: {h(c.text)};
}}
QTreeView::item {{ padding: 4px 2px; }}
QHeaderView::section {{
    background: {h(c.base)}; color: {h(c.muted)}; border: none; border-bottom: 1px solid {h(c.border)};
    padding: 5px 6px; font-weight: 600;
}}
QListWidget#Problems {{ border: 1px solid {h(c.border)}; border-radius: 10px; background: {h(c.base)}; }}
QPlainTextEdit#DocumentText {{ border: none; background: {h(c.base)}; font-size: 10.5pt; }}
QPdfView {{ border: none; }}
QMenu {{ border: 1px solid {h(c.border)}; padding: 4px; background: {h(c.base)}; }}
QMenu::item {{ padding: 5px 22px 5px 14px; border-radius: 5px; }}
QMenu::item:selected {{ background: {h(c.selected)}; color: {h(c.text)}; }}
QToolTip {{ border: 1px solid {h(c.border)}; background: {h(c.base)}; color: {h(c.text)}; padding: 4px; }}
"""
