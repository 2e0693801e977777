"""The left column: new chat, library, the conversation list with search, and settings."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QPainter, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QButtonGroup,
    QHBoxLayout,
    QLineEdit,
    QListView,
    QMenu,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.types import Conversation
from desktop.ui import appearance
from desktop.ui import format as fmt
from desktop.ui.icons import app_pixmap, icon
from desktop.ui.widgets import PushButton, confirm, label, tint_color
from desktop.workers.events import ConversationList

ID_ROLE = Qt.ItemDataRole.UserRole + 1
WHEN_ROLE = Qt.ItemDataRole.UserRole + 2


class _ConversationDelegate(QStyledItemDelegate):
    """The title, elided, with when it was last used in faint text on the right."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        title, item.text = item.text, ""
        widget = item.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, widget)  # background only
        colors = appearance.colors()
        rect = item.rect.adjusted(10, 0, -10, 0)
        when = str(index.data(WHEN_ROLE) or "")
        metrics = item.fontMetrics
        room = rect.width() - (metrics.horizontalAdvance(when) + 12 if when else 0)
        painter.save()
        painter.setPen(colors.faint)
        painter.drawText(rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, when)
        painter.setPen(colors.text)
        painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(title, Qt.TextElideMode.ElideRight, room))
        painter.restore()


class Sidebar(QWidget):
    newChatRequested = Signal()
    conversationSelected = Signal(int)
    renameRequested = Signal(int, str)
    deleteRequested = Signal(int)
    exportRequested = Signal(int, str)  # conversation id, "markdown" | "json"
    searchChanged = Signal(str)
    chatsRequested = Signal()
    libraryRequested = Signal()
    insightsRequested = Signal()
    settingsRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Sidebar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 14, 12, 10)
        layout.setSpacing(6)

        brand = QHBoxLayout()
        brand.setSpacing(8)
        logo = label()
        logo.setPixmap(app_pixmap(26))
        brand.addWidget(logo)
        brand.addWidget(label("Hearth", "AppTitle"))
        brand.addStretch(1)
        layout.addLayout(brand)
        layout.addSpacing(8)

        self.new_chat = PushButton("New chat", "plus", primary=True, tooltip="Start a new conversation (Ctrl+N)")
        self.new_chat.clicked.connect(self.newChatRequested)
        layout.addWidget(self.new_chat)
        layout.addSpacing(6)

        self.chats_button = PushButton("Chats", "chat")
        self.library_button = PushButton("Library", "library", tooltip="Your indexed documents")
        self.insights_button = PushButton("Insights", "sources", tooltip="Answer timings, feedback, topics")
        group = QButtonGroup(self)
        for button in (self.chats_button, self.library_button, self.insights_button):
            button.setObjectName("NavButton")
            button.setCheckable(True)
            group.addButton(button)
            layout.addWidget(button)
        self.chats_button.setChecked(True)
        self.chats_button.clicked.connect(self.chatsRequested)
        self.library_button.clicked.connect(self.libraryRequested)
        self.insights_button.clicked.connect(self.insightsRequested)
        layout.addSpacing(10)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search chats")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(icon("search", tint_color("muted"), 16), QLineEdit.ActionPosition.LeadingPosition)
        self.search.textChanged.connect(self.searchChanged)
        layout.addWidget(self.search)

        self.model = QStandardItemModel(self)
        self.model.itemChanged.connect(self._renamed)
        self.list = QListView()
        self.list.setObjectName("ConversationList")
        self.list.setModel(self.model)
        self.list.setItemDelegate(_ConversationDelegate(self.list))
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setUniformItemSizes(True)
        self.list.setMouseTracking(True)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.clicked.connect(self._clicked)
        self.list.activated.connect(self._clicked)
        self.empty = label("No conversations yet", "Faint")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.empty.setContentsMargins(0, 14, 0, 0)
        self.lists = QStackedWidget()
        self.lists.addWidget(self.list)
        self.lists.addWidget(self.empty)
        layout.addWidget(self.lists, 1)

        settings = PushButton("Settings", "settings", tooltip="Data folder, search and indexing settings")
        settings.setObjectName("NavButton")
        settings.clicked.connect(self.settingsRequested)
        layout.addWidget(settings)
        self._filling = False

    # -- updates from the store -------------------------------------------------------------------
    def set_conversations(self, listing: ConversationList, current: int | None) -> None:
        self._filling = True
        self.model.clear()
        for conversation in listing.conversations:
            self.model.appendRow(self._item(conversation))
        self._filling = False
        self.select(current)
        self.empty.setText("No matching chats" if listing.search.strip() else "No conversations yet")
        self.lists.setCurrentWidget(self.list if listing.conversations else self.empty)

    def select(self, conversation_id: int | None) -> None:
        for row in range(self.model.rowCount()):
            item = self.model.item(row)
            if item.data(ID_ROLE) == conversation_id:
                self.list.setCurrentIndex(item.index())
                return
        self.list.clearSelection()
        self.list.setCurrentIndex(QModelIndex())

    def set_library_count(self, documents: int) -> None:
        self.library_button.setText(f"Library  ·  {documents:,}" if documents else "Library")

    def show_page(self, page: str) -> None:
        buttons = {"library": self.library_button, "insights": self.insights_button}
        buttons.get(page, self.chats_button).setChecked(True)

    def titles(self) -> list[str]:
        return [self.model.item(row).text() for row in range(self.model.rowCount())]

    # -- internals ------------------------------------------------------------------------------
    def _item(self, conversation: Conversation) -> QStandardItem:
        item = QStandardItem(conversation.title)
        item.setData(conversation.id, ID_ROLE)
        item.setData(fmt.when(conversation.updated_at), WHEN_ROLE)
        item.setToolTip(f"{conversation.title}\n{fmt.count(conversation.messages, 'message')}")
        item.setEditable(True)
        return item

    def _clicked(self, index: QModelIndex) -> None:
        conversation_id = index.data(ID_ROLE)
        if conversation_id is not None:
            self.conversationSelected.emit(int(conversation_id))

    def _renamed(self, item: QStandardItem) -> None:
        if not self._filling and item.text().strip():
            self.renameRequested.emit(int(item.data(ID_ROLE)), item.text().strip())

    def _menu(self, point: QPoint) -> None:
        index = self.list.indexAt(point)
        if not index.isValid():
            return
        conversation_id = int(index.data(ID_ROLE))
        menu = QMenu(self)
        rename = QAction("Rename", menu)
        rename.triggered.connect(lambda: self.list.edit(index))
        markdown = QAction("Export as Markdown…", menu)
        markdown.triggered.connect(lambda: self.exportRequested.emit(conversation_id, "markdown"))
        as_json = QAction("Export as JSON…", menu)
        as_json.triggered.connect(lambda: self.exportRequested.emit(conversation_id, "json"))
        delete = QAction("Delete…", menu)
        delete.triggered.connect(lambda: self._confirm_delete(conversation_id, str(index.data())))
        for action in (rename, markdown, as_json):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(delete)
        menu.popup(self.list.viewport().mapToGlobal(point))

    def _confirm_delete(self, conversation_id: int, title: str) -> None:
        if confirm(self, "Delete conversation", f"Delete “{title}”? This cannot be undone.", "Delete"):
            self.deleteRequested.emit(conversation_id)
