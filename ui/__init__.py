"""Streamlit-side helpers shared by app.py and views/ (the library ppr/ never imports streamlit)."""
