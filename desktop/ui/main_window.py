"""The Hearth window: sidebar, chat or library, sources and viewer; it routes user actions to the
controller and the controller's results to the widgets. It never calls the engine itself."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt, QUrl
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop import __version__
from desktop.core.document_task import DocumentTask, TaskProgress
from desktop.core.settings import HearthSettings
from desktop.core.types import MessageStatus, Passage
from desktop.services.answering import AnswerFinished, AnswerStarted
from desktop.services.topics import Topic
from desktop.ui import format as fmt
from desktop.ui.banner import ProblemBanner
from desktop.ui.chat_page import ChatPage
from desktop.ui.chat_view import CitationClick
from desktop.ui.collector import GuiThreadCollector
from desktop.ui.controller import Controller
from desktop.ui.drop import DropOverlay, dropped_paths
from desktop.ui.facades.chat import AnswerState
from desktop.ui.icons import app_icon
from desktop.ui.indexing_bar import IndexingBar
from desktop.ui.insights_page import InsightsPage
from desktop.ui.library_page import LibraryPage
from desktop.ui.message_widget import AnswerMessage
from desktop.ui.models_dialog import ModelsDialog
from desktop.ui.settings_dialog import SettingsDialog
from desktop.ui.sidebar import Sidebar
from desktop.ui.sources_panel import SourcesPanel
from desktop.ui.status_bar import StatusBar
from desktop.ui.ui_state import UiState, load_ui_state, save_ui_state
from desktop.ui.viewer import DocumentViewer
from desktop.workers.events import (
    AnswerFailed,
    ConversationContent,
    ConversationList,
    EngineStatus,
    IndexFinished,
    IndexStarted,
    LibrarySnapshot,
    ModelCatalog,
    Problem,
)
from desktop.workers.typed import carrying, link

LIVE_LIBRARY_LIMIT = 3000  # documents listed even while the library page is hidden
DRAG_EVENTS = (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.DragLeave, QEvent.Type.Drop)


class MainWindow(QMainWindow):
    dataFolderChanged = carrying(Path)  # the app reopens the window on it

    def __init__(
        self, controller: Controller, *, data_folder_locked: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.collector = GuiThreadCollector(self)  # before any worker starts allocating
        self.controller = controller
        self.data_folder_locked = data_folder_locked
        self.setWindowTitle("Hearth")
        self.setWindowIcon(app_icon())
        self.setMinimumSize(900, 560)
        self.setAcceptDrops(True)
        self.state = load_ui_state(controller.data_dir)
        self._catalog = ModelCatalog(models=(), crashed=frozenset())
        self._models_dialog: ModelsDialog | None = None
        self._restored = False
        self._titles: dict[int, str] = {}
        self._unlisted: LibrarySnapshot | None = None  # a snapshot not yet shown in the library page
        self._narrow_sizes: list[int] | None = None  # splitter sizes before the viewer widened its panel

        self.sidebar = Sidebar()
        self.chat = ChatPage()
        self.library = LibraryPage()
        self.insights = InsightsPage()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.chat)
        self.pages.addWidget(self.library)
        self.pages.addWidget(self.insights)
        self.sources = SourcesPanel()
        self.viewer = DocumentViewer()
        self.side = QStackedWidget()
        self.side.setObjectName("SidePanel")
        self.side.addWidget(self.sources)
        self.side.addWidget(self.viewer)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setHandleWidth(1)
        self.splitter.setChildrenCollapsible(False)
        for widget, stretch in ((self.sidebar, 0), (self.pages, 1), (self.side, 0)):
            self.splitter.addWidget(widget)
            self.splitter.setStretchFactor(self.splitter.indexOf(widget), stretch)
        self.sidebar.setMinimumWidth(210)
        self.side.setMinimumWidth(280)
        self.banner = ProblemBanner()
        self.indexing = IndexingBar()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.indexing)
        self.setCentralWidget(central)
        self.status = StatusBar()
        self.status.set_backends(self.controller.settings.backends)
        self.setStatusBar(self.status)
        self.overlay = DropOverlay(central)
        self._build_menus()
        self._connect()
        self._restore_layout()

    # -- wiring -----------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        def action(
            menu_name: str, text: str, slot: object, shortcut: QKeySequence.StandardKey | str | None = None
        ) -> QAction:
            item = QAction(text, self)
            if shortcut is not None:
                item.setShortcut(QKeySequence(shortcut))
                item.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            item.triggered.connect(slot)
            menus[menu_name].addAction(item)
            self.addAction(item)
            return item

        bar = self.menuBar()
        menus = {name: bar.addMenu(name) for name in ("&File", "&Chat", "&Help")}
        self.add_files_action = action("&File", "Add files…", self.add_files, "Ctrl+O")
        action("&File", "Add folder…", self.add_folder, "Ctrl+Shift+O")
        menus["&File"].addSeparator()
        action("&File", "Export chat as Markdown…", lambda: self.export_current("markdown"))
        action("&File", "Export chat as JSON…", lambda: self.export_current("json"))
        menus["&File"].addSeparator()
        action("&File", "Models…", self.show_models)
        action("&File", "Settings…", self.show_settings, QKeySequence.StandardKey.Preferences)
        menus["&File"].addSeparator()
        action("&File", "Quit", self.close, "Ctrl+Q")
        self.new_chat_action = action("&Chat", "New chat", self.new_chat, "Ctrl+N")
        action("&Chat", "Focus the question box", self.chat.composer.focus_input, "Ctrl+L")
        self.stop_action = action("&Chat", "Stop answering", self.controller.chat.stop, "Esc")
        action("&Chat", "Show library", lambda: self.show_page("library"))
        action("&Help", "About Hearth", self.about)

    def _connect(self) -> None:
        c = self.controller
        chat, library, models = c.chat, c.library, c.models
        composer, view = self.chat.composer, self.chat.view
        composer.submitted.connect(self.ask)
        composer.stopRequested.connect(chat.stop)
        composer.scopeClicked.connect(lambda: self.show_page("library"))
        view.citationClicked.connect(self.open_citation)
        view.sourcesRequested.connect(lambda answer: self.show_sources(answer.passages))
        view.regenerateRequested.connect(self.regenerate)
        view.linkClicked.connect(self._link_clicked)
        view.copied.connect(lambda: self.status.showMessage("Copied the answer.", 3000))
        view.empty.addFilesRequested.connect(self.add_files)
        view.empty.addFolderRequested.connect(self.add_folder)
        self.chat.model_button.modelChosen.connect(models.use)
        self.chat.model_button.manageRequested.connect(self.show_models)
        self.chat.sources_toggle.toggled.connect(self.side.setVisible)
        self.sidebar.newChatRequested.connect(self.new_chat)
        self.sidebar.conversationSelected.connect(self.open_conversation)
        self.sidebar.renameRequested.connect(chat.rename)
        self.sidebar.deleteRequested.connect(chat.delete)
        self.sidebar.exportRequested.connect(self.export)
        self.sidebar.searchChanged.connect(chat.find)
        self.sidebar.chatsRequested.connect(lambda: self.show_page("chat"))
        self.sidebar.libraryRequested.connect(lambda: self.show_page("library"))
        self.sidebar.insightsRequested.connect(lambda: self.show_page("insights"))
        self.insights.refreshRequested.connect(c.insights.refresh)
        self.sidebar.settingsRequested.connect(self.show_settings)
        self.sources.passageClicked.connect(self.open_passage)
        self.viewer.backRequested.connect(self._back_to_sources)
        self.viewer.taskRequested.connect(self.run_task)
        self.library.taskRequested.connect(self.run_task)
        self.library.addFilesRequested.connect(self.add_files)
        self.library.addFolderRequested.connect(self.add_folder)
        self.library.removeRequested.connect(library.remove)
        self.library.reindexRequested.connect(library.reindex)
        self.library.scopeChanged.connect(self._scope_changed)
        self.indexing.pauseRequested.connect(library.pause)
        self.indexing.resumeRequested.connect(library.resume)
        self.indexing.cancelRequested.connect(library.cancel)
        self.indexing.problemsRequested.connect(lambda: self.show_page("library"))

        link(chat, conversations=self._conversations, opened=self._conversation_opened,
             deleted=self._conversation_deleted, began=self._answer_began, piece=view.on_piece,
             done=self._answer_done, failed=self._answer_failed, stateChanged=self._answer_state,
             progress=self._task_progress, toolStarted=view.on_tool_started, toolFinished=view.on_tool_finished,
             approvalNeeded=view.on_approval_needed, documentRequested=self.open_passage)
        link(view, toolDecided=chat.decide)
        link(library, changed=self._library, indexStarted=self._index_started,
             indexProgress=self.indexing.update_progress, indexFinished=self._index_finished,
             documentShown=self.viewer.show_document)
        link(models, status=self._engine_status, catalog=self._models, applied=self._settings_applied)
        link(c.insights, ready=self.insights.show_snapshot)
        link(self.insights, topicClicked=self._ask_about_topic, forgetRequested=library.remove)
        library.forgotten.connect(self._library_changed)
        link(view, feedbackGiven=c.insights.rate)
        link(c, problem=self._problem)
        c.notice.connect(self._notice)

    # -- chat -------------------------------------------------------------------------------------
    def ask(self, question: str) -> None:
        self.show_page("chat")
        composer = self.chat.composer
        if not self.controller.chat.ask(question, rag=composer.rag, agent=composer.agent_mode):
            self.chat.composer.input.setPlainText(question)  # busy: give the text back
            return
        self._show_question(question)

    def run_task(self, task: DocumentTask) -> None:
        """A whole-document task from a menu: asked and answered in the chat, stopped by its Stop button."""
        self.show_page("chat")
        if not self.controller.chat.run_task(task):
            self.status.showMessage("Wait for the current answer to finish, or stop it.", 6000)
            return
        self._show_question(task.request())

    def _show_question(self, text: str) -> None:
        if self.controller.chat.current is None:
            self.chat.set_title(fmt.snippet(text, 60))
        self.chat.view.ask(text)
        self.sources.show_passages(())

    def _answer_state(self, state: AnswerState) -> None:
        self.chat.composer.set_streaming(state is not AnswerState.IDLE)

    def _task_progress(self, progress: TaskProgress) -> None:
        left = f", {fmt.eta(progress.eta_s)}" if progress.eta_s is not None else ""
        self.status.showMessage(f"{progress.step} ({progress.done} of {progress.total} steps done{left})")

    def regenerate(self, answer: AnswerMessage) -> None:
        """Answer the question again; a question that failed before it was saved is simply asked again."""
        question = self.chat.view.question_for(answer)
        if question is None:
            return
        rag = self.chat.composer.rag
        if question.message_id is not None and answer.answer_id is not None:
            sent = self.controller.chat.regenerate(question.text, rag=rag)
        else:
            sent = self.controller.chat.ask(question.text, rag=rag)
        if sent:
            self.chat.view.remove(question, answer)
            self.chat.view.ask(question.text)
            self.sources.show_passages(())

    def new_chat(self) -> None:
        self.controller.chat.new_chat()
        self.chat.view.clear()
        self.chat.set_title("New chat")
        self.sidebar.select(None)
        self.sources.show_passages(())
        self._back_to_sources()
        self.show_page("chat")
        self.chat.composer.focus_input()

    def open_conversation(self, conversation_id: int) -> None:
        self.show_page("chat")
        if conversation_id != self.chat.view.conversation_id or self.controller.chat.current is None:
            self.controller.chat.open(conversation_id)

    def _answer_began(self, began: AnswerStarted) -> None:
        if self.chat.view.streaming is not None and self.chat.view.conversation_id in (None, began.conversation_id):
            self.chat.view.on_began(began)
            self.sources.show_passages(began.passages)
            self._back_to_sources()
            self.sidebar.select(began.conversation_id)

    def _answer_done(self, done: AnswerFinished) -> None:
        self.status.clearMessage()  # a document task's progress
        message = done.message
        if message.timings is not None:
            self.status.set_speed(message.timings.tokens_per_second, message.timings.generated_tokens)
        if self.chat.view.on_done(done) is not None:
            self.sources.show_passages(message.passages)

    def _answer_failed(self, failed: AnswerFailed) -> None:
        self.status.clearMessage()
        if self.chat.view.conversation_id in (None, failed.conversation_id):
            self.chat.view.on_failed(failed.reason)
            self.chat.view.conversation_id = failed.conversation_id

    def _conversations(self, listing: ConversationList) -> None:
        self._titles.update({c.id: c.title for c in listing.conversations})
        self.sidebar.set_conversations(listing, self.controller.chat.current)
        current = self.controller.chat.current
        if current is not None and current in self._titles:
            self.chat.set_title(self._titles[current])
        if not self._restored:
            self._restored = True
            last = self.state.conversation
            if last is not None and any(c.id == last for c in listing.conversations):
                self.open_conversation(last)

    def _conversation_opened(self, content: ConversationContent) -> None:
        conversation = content.conversation
        if conversation.id != self.controller.chat.current:
            return  # the user has since moved on
        view = self.chat.view
        view.show_messages(conversation.id, content.messages)
        self._titles[conversation.id] = conversation.title
        self.chat.set_title(conversation.title)
        self.sidebar.select(conversation.id)
        last = view.last_answer()
        still_writing = bool(content.messages) and content.messages[-1].status == MessageStatus.STREAMING
        if self.controller.chat.streaming and still_writing and last is not None:
            view.resume_streaming(last)
        self.sources.show_passages(last.passages if last is not None else ())
        self._back_to_sources()

    def _conversation_deleted(self, conversation_id: int) -> None:
        self._titles.pop(conversation_id, None)
        if self.chat.view.conversation_id == conversation_id:
            self.new_chat()

    # -- sources and viewer ------------------------------------------------------------------------
    def show_sources(self, passages: tuple[Passage, ...]) -> None:
        self.sources.show_passages(passages)
        self._back_to_sources()
        self._show_side()

    def open_citation(self, click: CitationClick) -> None:
        self.sources.show_passages(click.passages)
        self.open_passage(click.passage)

    def open_passage(self, passage: Passage) -> None:
        self._show_side()
        self.side.setCurrentWidget(self.viewer)
        self._widen_side()
        self.viewer.open_passage(passage)
        self.controller.library.open_passage(passage)

    def _show_side(self) -> None:
        self.chat.sources_toggle.setChecked(True)
        self.side.show()

    def _widen_side(self) -> None:
        """Documents need room: the side panel grows while the viewer is open."""
        sizes = self.splitter.sizes()
        wanted = int(sum(sizes) * 0.42)
        if len(sizes) == 3 and sizes[2] < wanted:
            self._narrow_sizes = sizes
            self.splitter.setSizes([sizes[0], max(360, sizes[1] - (wanted - sizes[2])), wanted])

    def _back_to_sources(self) -> None:
        self.side.setCurrentWidget(self.sources)
        if self._narrow_sizes is not None:
            self.splitter.setSizes(self._narrow_sizes)
            self._narrow_sizes = None

    # -- library ----------------------------------------------------------------------------------
    def add_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add files to the library", str(Path.home()))
        if files:
            self.controller.add_paths([Path(f) for f in files])

    def add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to the library", str(Path.home()))
        if folder:
            self.controller.add_paths([Path(folder)])

    def _library(self, snapshot: LibrarySnapshot) -> None:
        # A big library is only re-listed while it is on screen (or when it is next shown).
        self._unlisted = snapshot
        if len(snapshot.documents) <= LIVE_LIBRARY_LIMIT or self.pages.currentWidget() is self.library:
            self._list_library()
        self.sidebar.set_library_count(snapshot.indexed)
        self.status.set_library(snapshot)
        self.chat.view.empty.set_library_size(snapshot.indexed)

    def _list_library(self) -> None:
        if self._unlisted is not None:
            self.library.set_snapshot(self._unlisted)
            self._unlisted = None

    def _index_started(self, _started: IndexStarted) -> None:
        self.indexing.started()

    def _index_finished(self, finished: IndexFinished) -> None:
        self.indexing.finished(finished)
        self._library_changed()
        if finished.report is not None or finished.failed:
            self.library.set_problems(finished.failed)

    def _library_changed(self) -> None:
        self.controller.insights.library_changed()  # the map and copies are found again the next time Insights shows
        if self.pages.currentWidget() is self.insights:
            self.controller.insights.refresh()

    def _scope_changed(self, document_ids: tuple[int, ...] | None) -> None:
        self.controller.chat.set_scope(document_ids)
        self.chat.composer.set_scope(
            "All documents" if document_ids is None else fmt.count(len(document_ids), "document")
        )

    def _ask_about_topic(self, topic: Topic) -> None:
        """A topic clicked on the map: the chat asks only about its documents."""
        self._scope_changed(tuple(topic.document_ids))
        self.status.showMessage(f"Asking only about the topic “{topic.label}”.", 5000)
        self.show_page("chat")

    def show_page(self, page: str) -> None:
        self.pages.setCurrentWidget({"library": self.library, "insights": self.insights}.get(page, self.chat))
        self.sidebar.show_page(page)
        self.side.setVisible(page == "chat" and self.chat.sources_toggle.isChecked())
        if page == "insights":
            self.controller.insights.refresh()
        if page == "library":
            self._list_library()
            self.library.expand_all()

    # -- models, settings, export ------------------------------------------------------------------
    def _engine_status(self, status: EngineStatus) -> None:
        self.status.set_engine(status)
        self.chat.model_button.set_status(status)
        if self._models_dialog is not None and status.model is not None:
            self._models_dialog.current = status.model.path

    def _models(self, catalog: ModelCatalog) -> None:
        self._catalog = catalog
        self.chat.model_button.set_catalog(catalog)
        if self._models_dialog is not None:
            self._models_dialog.set_catalog(catalog)

    def _settings_applied(self, settings: HearthSettings) -> None:
        self.status.set_backends(settings.backends)  # what leaves the machine, from the moment it changes

    def show_models(self) -> None:
        self.controller.models.refresh()
        status = self.controller.models.current
        current = status.model.path if status is not None and status.model is not None else None
        dialog = ModelsDialog(self._catalog, current, self.controller.settings, self)
        dialog.useModelRequested.connect(self.controller.models.use)
        dialog.addModelRequested.connect(lambda path: self.controller.models.add(Path(path)))
        dialog.settingsSaved.connect(self.controller.models.save_model_settings)
        dialog.finished.connect(lambda _result: setattr(self, "_models_dialog", None))
        self._models_dialog = dialog
        dialog.open()

    def show_settings(self) -> None:
        dialog = SettingsDialog(
            self.controller.settings, self.controller.data_dir, locked=self.data_folder_locked,
            models_dir=self.controller.home.models_dir, parent=self,
        )
        if dialog.exec() and dialog.result_settings is not None:
            self.controller.apply_settings(dialog.result_settings, rebuild=dialog.rebuild)
            if dialog.new_data_dir is not None:
                self.dataFolderChanged.emit(dialog.new_data_dir)

    def export_current(self, format: str) -> None:
        if self.controller.chat.current is None:
            self.status.showMessage("Open a conversation to export it.", 4000)
            return
        self.export(self.controller.chat.current, format)

    def export(self, conversation_id: int, format: str) -> None:
        suffix = "json" if format == "json" else "md"
        title = self._titles.get(conversation_id, "conversation")
        safe = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in title).strip() or "conversation"
        target, _ = QFileDialog.getSaveFileName(
            self, "Export conversation", str(Path.home() / f"{safe}.{suffix}"),
            "JSON (*.json)" if suffix == "json" else "Markdown (*.md)",
        )
        if target:
            self.controller.chat.export(conversation_id, Path(target), format)

    def about(self) -> None:
        QMessageBox.about(
            self, "About Hearth",
            f"<b>Hearth {__version__}</b><p>Answers from your own files, entirely offline. Nothing you ask "
            "or add leaves this computer.</p>",
        )

    # -- problems and notices ----------------------------------------------------------------------
    def _problem(self, problem: Problem) -> None:
        if problem.source == "viewer":
            self.viewer.show_error(problem.message)
            return
        self.banner.add(problem)

    def _notice(self, text: str) -> None:
        self.status.showMessage(text, 6000)

    def _link_clicked(self, url: QUrl) -> None:
        QGuiApplication.clipboard().setText(url.toString())
        self.status.showMessage(f"Hearth does not open links itself; copied {url.toString()}", 6000)

    # -- drag and drop, anywhere on the window ------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # File drops on any child widget (the question box takes text drops) are caught where the system
        # delivers them, on the native window, before Qt picks the widget under the cursor. An
        # application-wide filter would run Python for every event of every widget instead, each waiting
        # for the global lock while a worker holds it: pauses of 100 ms while indexing.
        handle = self.windowHandle()
        if handle is not None:
            handle.installEventFilter(self)  # again on a new handle; Qt keeps one entry per filter

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in DRAG_EVENTS and watched is self.windowHandle():
            return self._drag_event(event)
        return False

    def _drag_event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.DragLeave:
            self.overlay.hide()
            return False
        if not isinstance(event, QDropEvent):  # enter, move and drop events all are QDropEvents
            return False
        paths = dropped_paths(event.mimeData())
        if not paths:
            return False  # text and other data: the widget under the cursor handles it as usual
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        if event.type() == QEvent.Type.Drop:
            self.overlay.hide()
            self.controller.add_paths(paths)
        elif event.type() == QEvent.Type.DragEnter:
            self.overlay.show_for(paths)
        return True

    # -- layout and closing -------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        if self.state.geometry:
            self.restoreGeometry(QByteArray.fromBase64(self.state.geometry.encode()))
        else:
            self.resize(1280, 800)
        sizes = self.state.splitter if len(self.state.splitter) == 3 else [250, 690, 340]
        self.splitter.setSizes(sizes)
        self.chat.sources_toggle.setChecked(self.state.sources_visible)
        self.side.setVisible(self.state.sources_visible)

    def closeEvent(self, event: QCloseEvent) -> None:
        save_ui_state(self.controller.data_dir, UiState(
            geometry=bytes(self.saveGeometry().toBase64().data()).decode(),
            splitter=self.splitter.sizes(),
            sources_visible=self.chat.sources_toggle.isChecked(),
            conversation=self.controller.chat.current,
        ))
        self.controller.shutdown()
        self.collector.release()
        event.accept()
