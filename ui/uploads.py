"""Uploaded files staged on disk once per upload (not once per rerun), in a private temp folder."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from ppr.data.store import os_error_message, owner_tag, sweep_temp
from ppr.data.upload import remove_staged, stage_upload
from ppr.errors import InputError

_STAGED = "_staged_upload"


@st.cache_resource(show_spinner=False)
def _swept() -> bool:
    """Once per server process: remove staged uploads and import scratch left by dead processes."""
    sweep_temp()
    return True


def staged_files(files: dict[str, UploadedFile | None]) -> dict[str, Path]:
    """{role: path on disk} for the uploaded files; InputError (e.g. an unsafe zip) propagates."""
    present = {role: f for role, f in files.items() if f is not None}
    key = tuple(sorted((role, f.file_id) for role, f in present.items()))
    held = st.session_state.get(_STAGED)
    if held and held["key"] == key:
        return held["paths"]
    discard_staged()
    _swept()
    try:
        folder = Path(tempfile.mkdtemp(prefix="ppr-upload-" + owner_tag()))  # the tag lets a sweep see us gone
    except OSError as exc:
        raise InputError(os_error_message(exc, f"stage the upload in {tempfile.gettempdir()}")) from None
    try:
        paths = {role: stage_upload(f.name, f.getvalue(), folder / role) for role, f in present.items()}
    except BaseException:
        remove_staged(folder)
        raise
    st.session_state[_STAGED] = {"key": key, "folder": folder, "paths": paths}
    return paths


def readable(message: str) -> str:
    """An importer message with the private staging paths cut back to the uploaded file names."""
    if held := st.session_state.get(_STAGED):
        for path in held["paths"].values():
            message = message.replace(str(path), f"'{path.name}' (uploaded)")
        message = message.replace(str(held["folder"]) + "/", "")
    return message


def work_dir() -> Path:
    """A scratch folder beside the staged files (derived users file and the like)."""
    return st.session_state[_STAGED]["folder"] / "work"


def discard_staged() -> None:
    if held := st.session_state.pop(_STAGED, None):
        remove_staged(held["folder"])
