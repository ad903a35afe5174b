"""The workbench's pages, routed by app.py (st.navigation); each reads like a description of its UI."""
