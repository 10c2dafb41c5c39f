"""Where model files come from: the files shipped in models first; otherwise, when
STUDIO_HUB_REPO names a Hugging Face Hub repository, that repository (through the local cache, so
it works offline once fetched, and fails at once with HF_HUB_OFFLINE=1 when it was not)."""
import hashlib
import os
from pathlib import Path

from studio.errors import StudioError

MODELS = Path(__file__).resolve().parent.parent / "models"
HUB_REPO_VARIABLE = "STUDIO_HUB_REPO"


def model_file(name: str) -> Path:
    shipped = MODELS / name
    if shipped.is_file():
        return shipped
    repo = os.environ.get(HUB_REPO_VARIABLE)
    if not repo:
        raise StudioError(f"The model file {name} is missing from {MODELS} and no Hub repository "
                          f"is configured ({HUB_REPO_VARIABLE}).")
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(repo_id=repo, filename=name))
    except Exception as error:  # offline, unknown repo or file: one clear line either way
        raise StudioError(f"Could not get {name} from the Hub repository {repo}: "
                          f"{type(error).__name__}.") from None


def file_digest(path: Path) -> str:
    """Short content hash. Cache keys use it rather than size and mtime, so a cache survives the
    data being copied to another machine."""
    return hashlib.sha1(path.read_bytes()).hexdigest()[:12]
