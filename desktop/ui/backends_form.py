"""The settings dialog's Backends tab: where vectors are kept (this computer or a Chroma server) and which
model answers (this computer or an OpenAI-compatible server), with "Test connection". Tokens and keys are
shown masked. The fields only gather values: the settings model validates them, and the dialog checks the
servers (off the GUI thread) before anything is saved."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.core.backends import endpoint
from desktop.core.settings import BackendSettings, field_help
from desktop.ui.widgets import PushButton, label

CHROMA_PORT = 8000  # `chroma run`'s own default


def field_title(group: type[BaseModel], name: str) -> str:
    return group.model_fields[name].title or name.replace("_", " ").capitalize()


def _secret(value: str | None) -> QLineEdit:
    edit = QLineEdit(value or "")
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setPlaceholderText("none")
    return edit


def _choice(form: QVBoxLayout, local: str, remote: str, is_remote: bool) -> tuple[QRadioButton, QRadioButton]:
    here, there = QRadioButton(local), QRadioButton(remote)
    group = QButtonGroup(form)
    for button in (here, there):
        group.addButton(button)
        form.addWidget(button)
    (there if is_remote else here).setChecked(True)
    return here, there


class BackendsForm(QWidget):
    def __init__(self, backends: BackendSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.original = backends
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 8, 4, 4)
        layout.setSpacing(10)

        vectors = QGroupBox("Vectors")
        vector_layout = QVBoxLayout(vectors)
        self.vector_local, self.vector_remote = _choice(
            vector_layout, "This computer (in the data folder)", "A Chroma server", backends.vector_server is not None
        )
        vector_form = self._form(vector_layout)
        where = endpoint(backends.vector_server) if backends.vector_server else None
        self.vector_host = QLineEdit(where.host if where else "")
        self.vector_host.setPlaceholderText("192.168.1.20")
        self.vector_host.setToolTip(field_help(BackendSettings, "vector_server"))
        vector_form.addRow(label("Host"), self.vector_host)
        self.vector_port = QSpinBox()
        self.vector_port.setRange(1, 65535)
        self.vector_port.setValue(where.port if where else CHROMA_PORT)
        self.vector_port.setMinimumWidth(110)
        vector_form.addRow(label("Port"), self.vector_port)
        self.vector_tls = QCheckBox("Encrypted (TLS, https://)")
        self.vector_tls.setChecked(bool(backends.vector_server and backends.vector_server.startswith("https://")))
        vector_form.addRow(label(""), self.vector_tls)
        self.vector_token = self._row(vector_form, "vector_token", _secret(backends.vector_token))
        self.collection = self._row(vector_form, "collection", QLineEdit(backends.collection or ""))
        self.collection.setPlaceholderText("one named after this library")
        layout.addWidget(vectors)

        model = QGroupBox("Model")
        model_layout = QVBoxLayout(model)
        self.model_local, self.model_remote = _choice(
            model_layout, "This computer (a model file)", "An OpenAI-compatible server",
            backends.model_server is not None,
        )
        model_form = self._form(model_layout)
        self.model_url = QLineEdit(backends.model_server or "")
        self.model_url.setPlaceholderText("http://192.168.1.20:8080/v1")
        self.model_url.setToolTip(field_help(BackendSettings, "model_server"))
        model_form.addRow(label("Base URL"), self.model_url)
        self.api_key = self._row(model_form, "model_api_key", _secret(backends.model_api_key))
        self.model_name = self._row(model_form, "model_name", QLineEdit(backends.model_name or ""))
        self.model_name.setPlaceholderText("the first one the server lists")
        layout.addWidget(model)

        bottom = QFormLayout()
        bottom.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.timeout = QSpinBox()
        self.timeout.setRange(1, 1_000_000)  # the settings model decides what is valid, and says why
        self.timeout.setSuffix(" s")
        self.timeout.setValue(round(backends.timeout_s))
        self.timeout.setMinimumWidth(110)
        self._row(bottom, "timeout_s", self.timeout)
        layout.addLayout(bottom)

        test_row = QHBoxLayout()
        self.test_button = PushButton("Test connection", tooltip="Ask each server named above, as a question would")
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        layout.addLayout(test_row)
        self.result = label("", "Muted", wrap=True)
        self.result.hide()
        layout.addWidget(self.result)
        layout.addStretch(1)

        for button in (self.vector_local, self.vector_remote, self.model_local, self.model_remote):
            button.toggled.connect(self._enable)
        self._vector_fields: list[QWidget] = [self.vector_host, self.vector_port, self.vector_tls, self.vector_token,
                                              self.collection]
        self._model_fields: list[QWidget] = [self.model_url, self.api_key, self.model_name]
        self._enable()

    @staticmethod
    def _form(parent: QVBoxLayout) -> QFormLayout:
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setContentsMargins(22, 0, 0, 0)
        parent.addLayout(form)
        return form

    @staticmethod
    def _row(form: QFormLayout, name: str, widget: Any) -> Any:
        widget.setToolTip(field_help(BackendSettings, name))
        form.addRow(label(field_title(BackendSettings, name)), widget)
        return widget

    def _enable(self) -> None:
        for widget in self._vector_fields:
            widget.setEnabled(self.vector_remote.isChecked())
        for widget in self._model_fields:
            widget.setEnabled(self.model_remote.isChecked())

    def missing(self) -> str | None:
        """What a chosen server still lacks, as the settings dialog words a refusal."""
        if self.vector_remote.isChecked() and not self.vector_host.text().strip():
            return "backends.vector_server: give the Chroma server's host"
        if self.model_remote.isChecked() and not self.model_url.text().strip():
            return "backends.model_server: give the model server's base URL"
        return None

    def changes(self) -> dict[str, Any]:
        """The tab's values as ``backends`` settings (an empty field is None: not set)."""
        return {
            "vector_server": self._vector_url() if self.vector_remote.isChecked() else None,
            "vector_token": self.vector_token.text().strip() or None,
            "collection": self.collection.text().strip() or None,
            "model_server": self.model_url.text().strip() if self.model_remote.isChecked() else None,
            "model_api_key": self.api_key.text().strip() or None,
            "model_name": self.model_name.text().strip() or None,
            "timeout_s": self.timeout.value(),
        }

    def _vector_url(self) -> str:
        host = self.vector_host.text().strip()
        bracketed = f"[{host}]" if ":" in host and not host.startswith("[") else host  # an IPv6 address
        url = f"{'https' if self.vector_tls.isChecked() else 'http'}://{bracketed}:{self.vector_port.value()}"
        original = self.original.vector_server
        if original is not None and _same_server(original, url):
            return original  # as it was saved (a path behind a proxy, say)
        return url

    def show_checking(self) -> None:
        self.test_button.setEnabled(False)
        self._show("Checking the servers…", "Muted")

    def show_result(self, ok: bool, message: str) -> None:
        self.test_button.setEnabled(True)
        self._show(message, "" if ok else "ErrorNote")

    def _show(self, text: str, role: str) -> None:
        self.result.setText(text)
        self.result.setObjectName(role)
        self.result.style().unpolish(self.result)  # the style sheet picks its colour by object name
        self.result.style().polish(self.result)
        self.result.show()


def _same_server(saved: str, url: str) -> bool:
    try:
        return urlsplit(saved).scheme == urlsplit(url).scheme and endpoint(saved) == endpoint(url)
    except ValueError:
        return False
