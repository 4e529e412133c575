"""recolab dashboard: navigation and the shared sidebar; every page lives in ``pages/``.

Run with ``streamlit run app.py``. The workspace is ``$RECOLAB_HOME`` (or ``./workspace``);
the current dataset and job ids live in the URL so a page reattaches after a refresh.
"""

import logging
from pathlib import Path

import streamlit as st

from pages import common

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

# a local icon: a named icon as favicon is fetched from a font CDN, which fails offline
ICON = Path(__file__).resolve().parent / "docs" / "icon.png"
st.set_page_config(page_title="recolab", page_icon=str(ICON), layout="wide")

PAGES = [
    st.Page(
        "pages/data.py", title="Data", icon=":material/database:", url_path="datasets", default=True
    ),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="training"),
    st.Page(
        "pages/tradeoffs.py", title="Trade-offs", icon=":material/balance:", url_path="trade-offs"
    ),
    st.Page(
        "pages/recommendations.py",
        title="Recommendations",
        icon=":material/recommend:",
        url_path="recommend",
    ),
    st.Page("pages/export.py", title="Export", icon=":material/download:", url_path="bundle"),
    st.Page(
        "pages/compare.py", title="Compare runs", icon=":material/compare:", url_path="compare"
    ),
]

page = st.navigation(PAGES)
common.sync_ids()
page.run()
# after the page, so it shows what the page chose; common.stop draws it itself on a page
# that stops early (a bare st.stop() would end the run before this line)
common.sidebar(show_lam=page.url_path != "trade-offs")
