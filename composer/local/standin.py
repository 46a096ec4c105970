"""The model a local graph serves: the real tokenizer from the HF cache, or an offline stand-in.

The mocker engine loads no weights, but the frontend and the mocker both read a Hugging Face
style model directory (config, tokenizer, chat template) and Dynamo (1.4.0, 1.6.1) resolves it *by
name* through the hub client. So we always hand the processes an HF cache they can read
offline: the user's own when it already holds the model, else a private one under the state
dir seeded with a generated stand-in.

The stand-in is a WordLevel tokenizer over tens of thousands of made-up words: the mocker
emits token ids up to a few thousand, and with a small vocabulary they all decode to "" and
AIPerf rejects every response. Everything here is deterministic, so the same name gives the
same bytes and the same snapshot revision on every machine.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from composer.write import replace_file

# Bump when the generated files change, so old stand-ins are not mistaken for new ones.
STANDIN_VERSION = 2
VOCAB_SIZE = 32000
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
UNK = "<unk>"
REQUIRED_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json")
# Written last, beside refs/: this snapshot is a whole stand-in of STANDIN_VERSION.
SEEDED = ".dynamo-compose-standin"

# ChatML, as Qwen uses: tokens the frontend can render for any chat request.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@dataclass(frozen=True)
class ModelSource:
    """Where the processes find the model, and how the CLI should describe it."""

    name: str
    kind: str  # "cache" (the user's HF cache) or "stand-in" (generated)
    snapshot: Path  # the model directory: pass it to aiperf as --tokenizer
    hf_home: Path
    env: Mapping[str, str] = field(default_factory=dict)  # for the Dynamo processes

    def describe(self) -> str:
        if self.kind == "cache":
            return f"{self.name}: tokenizer from the local Hugging Face cache ({self.snapshot})"
        return f"{self.name}: offline stand-in tokenizer ({VOCAB_SIZE} words), no download ({self.snapshot})"


def repo_dir_name(model: str) -> str:
    """HF hub cache folder for a repo id: 'Qwen/Qwen3-0.6B' -> 'models--Qwen--Qwen3-0.6B'."""
    return "models--" + model.replace("/", "--")


def user_hf_home(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser()
    cache = Path(env["XDG_CACHE_HOME"]).expanduser() if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return cache / "huggingface"


def user_hub_cache(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env["HF_HUB_CACHE"]).expanduser() if env.get("HF_HUB_CACHE") else user_hf_home(env) / "hub"


def cached_snapshot(hub: Path, model: str) -> Path | None:
    """The snapshot dir of `model` in an HF hub cache if it holds what the processes need."""
    repo = hub / repo_dir_name(model)
    try:
        rev = (repo / "refs" / "main").read_text().strip()
    except OSError:
        return None
    snap = repo / "snapshots" / rev
    return snap if all((snap / f).is_file() for f in REQUIRED_FILES) else None


def prepare_model(model: str, state_dir: Path, environ: Mapping[str, str] | None = None) -> ModelSource:
    """Use the model from the user's HF cache, or seed a private cache with the stand-in."""
    home, hub = user_hf_home(environ), user_hub_cache(environ)
    snap = cached_snapshot(hub, model)
    if snap is not None:
        return ModelSource(model, "cache", snap, home, offline_env(home, hub))
    private = state_dir / "hf"
    snap = seed_standin(private, model)
    return ModelSource(model, "stand-in", snap, private, offline_env(private, private / "hub"))


def offline_env(hf_home: Path, hub: Path) -> dict[str, str]:
    # Only for the Dynamo processes. AIPerf must NOT get HF_HUB_OFFLINE with a local tokenizer
    # path: it then treats the path as a repo id. HF_HUB_CACHE is set too, so a value in the
    # user's shell cannot point the processes at another cache.
    return {"HF_HOME": str(hf_home), "HF_HUB_CACHE": str(hub), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def seed_standin(hf_home: Path, model: str) -> Path:
    """Write the stand-in into `hf_home` as a hub snapshot; a no-op when it is already there."""
    repo = hf_home / "hub" / repo_dir_name(model)
    marker = repo / SEEDED
    snap = cached_snapshot(hf_home / "hub", model)
    if snap is not None and _read(marker) == f"v{STANDIN_VERSION} {snap.name}":
        return snap  # generating the files to compare them costs `compose up` ~20 ms
    files = standin_files(model)
    rev = revision(files)
    snap = repo / "snapshots" / rev
    ref = repo / "refs" / "main"
    if not (snap.is_dir() and _read(ref) == rev and all(_read_bytes(snap / n) == b for n, b in files.items())):
        snap.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            replace_file(snap / name, data)
        ref.parent.mkdir(parents=True, exist_ok=True)
        replace_file(ref, rev.encode())
    replace_file(marker, f"v{STANDIN_VERSION} {rev}".encode())
    return snap


def revision(files: Mapping[str, bytes]) -> str:
    """A 40-hex snapshot id derived from the content, like a git commit."""
    h = hashlib.sha1()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name] + b"\0")
    return h.hexdigest()


def standin_files(model: str) -> dict[str, bytes]:
    """The stand-in model directory as {file name: bytes}. Pure and deterministic."""
    vocab = standin_vocab()
    ids = {tok: i for i, tok in enumerate(vocab)}
    eos = ids["<|im_end|>"]
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 1024,
        "intermediate_size": 3072,
        "num_hidden_layers": 28,
        "num_attention_heads": 16,
        "num_key_value_heads": 8,
        "head_dim": 64,
        "max_position_embeddings": 32768,
        "vocab_size": len(vocab),
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": eos,
        "torch_dtype": "bfloat16",
        "_name_or_path": model,
        "_comment": f"dynamo-compose offline stand-in v{STANDIN_VERSION}: no weights, tokenizer only",
    }
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": ids[t],
                "content": t,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
            for t in SPECIAL_TOKENS
        ],
        "normalizer": None,
        # Split on whitespace only, so a decoded "<unk>" re-encodes to one token and
        # prompt lengths measured by AIPerf match what the frontend counts.
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "post_processor": None,
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": ids, "unk_token": UNK},
    }
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": 32768,
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": UNK,
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "chat_template": CHAT_TEMPLATE,
    }
    generation_config = {"bos_token_id": config["bos_token_id"], "eos_token_id": [eos], "do_sample": False}
    return {
        "config.json": _json(config),
        "generation_config.json": _json(generation_config),
        # compact and in the order built (deterministic): json's C encoder runs only without indent
        # or sorting; pretty-printed, this file cost every `compose up` ~30 ms
        "tokenizer.json": json.dumps(tokenizer, ensure_ascii=False, separators=(",", ":")).encode(),
        "tokenizer_config.json": _json(tokenizer_config),
    }


def standin_vocab(size: int = VOCAB_SIZE) -> list[str]:
    """Special tokens, "<unk>", then pronounceable words ("ba", "be", ..., "zuzuzu")."""
    onsets = "bdfghjklmnprstvwz"
    vowels = "aeiou"
    syllables = [c + v for c in onsets for v in vowels]  # 85
    head = [*SPECIAL_TOKENS, UNK]
    # Words of one syllable, then two, then three..., each length in order; only as many as needed
    # (building all of the three-syllable layer would make 614k strings for 24k).
    words = ("".join(p) for n in itertools.count(1) for p in itertools.product(syllables, repeat=n))
    wanted = size - len(head)
    if wanted < 0:  # sizes below the head count kept what slicing the first layer from the end left
        wanted = len(syllables) + wanted if size > 0 else 0
    return head + list(itertools.islice(words, wanted))


def _json(obj: object) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _read(path: Path) -> str | None:
    data = _read_bytes(path)
    return None if data is None else data.decode().strip()


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
