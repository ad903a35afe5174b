"""Streamlit entry point: a router over pages/, kept thin (the work lives in ppr/, shared UI bits in ui/)."""

import streamlit as st

from ui.state import get_store, sidebar

st.set_page_config(page_title="PPR Workbench", page_icon=":material/science:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/database:"),
    # Next pages go here, in the order a user works through them:
    # st.Page("pages/runs.py", title="Runs", icon=":material/play_circle:"),
    # st.Page("pages/compare.py", title="Compare", icon=":material/monitoring:"),
    # st.Page("pages/prompts.py", title="Prompt explorer", icon=":material/scatter_plot:"),
]

page = st.navigation(PAGES)
sidebar(get_store())
page.run()
