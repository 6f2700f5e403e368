"""Checks training/nextscale/vqvae.py against the VAR conformance fixture, number for number.

Loads the fixture's "vae" config and `vae.*` weights into the project's VQVAE and compares what it
computes with what the reference computed: the encoder features, the token maps of every scale
(identical), the reconstruction, and the generated f_hat and image rebuilt from the generated tokens.
Prints max |delta| per item; exits 1 if any exceeds the tolerance or a token differs.

    /usr/bin/python3 training/check_vqvae.py [--fixture tests/fixtures/var-tiny]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nextscale import safetensors_io  # noqa: E402
from nextscale.vqvae import VQVAE  # noqa: E402


def load_fixture_vae(fixture: Path) -> VQVAE:
    """The fixture's VQVAE with its weights (keys `vae.*`, loaded strictly: every name and shape must match)."""
    config = json.loads((fixture / "config.json").read_text())
    model = VQVAE.from_config(config["vae"])
    weights = safetensors_io.load(fixture / "weights.safetensors")
    state = {k[len("vae."):]: v for k, v in weights.items() if k.startswith("vae.")}
    model.load_state_dict(state, strict=True)
    return model.eval()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixture", type=Path, default=Path(__file__).resolve().parent.parent / "tests/fixtures/var-tiny")
    parser.add_argument("--tol", type=float, default=1e-4, help="largest |delta| allowed for float outputs")
    args = parser.parse_args()

    torch.set_num_threads(2)
    model = load_fixture_vae(args.fixture)
    expected = safetensors_io.load(args.fixture / "expected.safetensors")
    S = len(model.v_patch_nums)
    failures: list[str] = []
    checked: list[str] = []

    def compare(name: str, got: torch.Tensor, want: torch.Tensor, exact: bool = False) -> None:
        checked.append(name)
        if tuple(got.shape) != tuple(want.shape):
            failures.append(name)
            print(f"{name:20s} shape {list(got.shape)}, expected {list(want.shape)}  FAIL")
            return
        delta = float((got.double() - want.double()).abs().max())
        ok = delta == 0 if exact else delta <= args.tol
        if not ok:
            failures.append(name)
        print(f"{name:20s} max |delta| {delta:.3e}{'  (tokens)' if exact else ''}  {'ok' if ok else 'FAIL'}")

    with torch.no_grad():
        img = expected["vae.input"]
        f = model.encode_features(img)
        compare("vae.f", f, expected["vae.f"])
        idx = model.encode_idx(img)
        for s in range(S):
            compare(f"vae.scale{s}.idx", idx[s], expected[f"vae.scale{s}.idx"].long(), exact=True)
        compare("vae.recon", model.decode(model.fhat_sequence(idx)[-1]), expected["vae.recon"])

        gen_idx = [expected[f"gen.scale{s}.idx"].long() for s in range(S)]
        f_hat = torch.zeros_like(expected["gen.scale0.f_hat"])
        for s in range(S):
            f_hat = model.add_scale(f_hat, gen_idx[s], s)
            compare(f"gen.scale{s}.f_hat", f_hat, expected[f"gen.scale{s}.f_hat"])
        sequence = model.fhat_sequence(gen_idx)
        compare("fhat_sequence[-1]", sequence[-1], expected[f"gen.scale{S - 1}.f_hat"])
        compare("gen.image", (model.decode(f_hat) + 1) / 2, expected["gen.image"])

    if failures:
        print(f"FAILED: {', '.join(failures)} (tolerance {args.tol:g}; tokens must be identical)")
        return 1
    print(f"all {len(checked)} items match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
