"""Streamlit-side helpers shared by app.py and pages/ (the library ppr/ never imports streamlit)."""
