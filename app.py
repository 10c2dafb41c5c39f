"""Talking Face Studio: builds the browser studio and serves it (nothing heavy happens here)."""
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from studio.ui import serve  # noqa: E402

if __name__ == "__main__":
    port = int(os.environ.get("PORT", os.environ.get("GRADIO_SERVER_PORT", 7860)))  # PORT: Deta Space
    serve(server_port=port)
