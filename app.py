"""Streamlit entry point: a router over pages/, kept thin (the work lives in ppr/)."""

import streamlit as st

st.set_page_config(page_title="PPR Workbench", layout="wide")
st.navigation([st.Page("pages/datasets.py", title="Datasets", default=True)]).run()
