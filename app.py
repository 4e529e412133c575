"""recolab dashboard entry point (placeholder until the dashboard issue)."""

import streamlit as st

st.set_page_config(page_title="recolab", layout="wide")
st.title("recolab")
st.write("Multi-objective recommender tuning. Pages arrive with the dashboard issue.")
