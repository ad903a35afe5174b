"""Streamlit entry point: a thin router over views/ (the work lives in ppr/, shared UI bits in ui/).

The folder is views/, not pages/: a pages/ folder switches on Streamlit's older file-based
routing beside st.navigation, and a deep link or refresh on /data then runs the view alone,
without this script (no sidebar, no active dataset).
"""

import streamlit as st

from ui.icon import page_icon
from ui.state import get_store, keep_widget_state, sidebar

st.set_page_config(page_title="PPR Workbench", page_icon=page_icon(), layout="wide")

PAGES = [
    st.Page("views/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("views/data.py", title="Data", icon=":material/database:"),
    # Next pages go here, in the order a user works through them:
    st.Page("views/runs.py", title="Runs", icon=":material/play_circle:"),
    st.Page("views/compare.py", title="Compare", icon=":material/monitoring:"),
    st.Page("views/prompts.py", title="Prompt explorer", icon=":material/scatter_plot:"),
    st.Page("views/try_user.py", title="Try a user", icon=":material/person_search:"),
]

page = st.navigation(PAGES)
keep_widget_state()
sidebar(get_store())
page.run()
