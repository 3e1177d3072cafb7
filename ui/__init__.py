"""The Streamlit search UI (``vrag ui``). Pages stay small; all logic lives in :mod:`vrag`."""
