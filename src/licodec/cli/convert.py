"""``lic import-compressai``: convert CompressAI checkpoints to licodec weights."""

from __future__ import annotations

from pathlib import Path

import click

from licodec.convert.compressai import ARCHS


@click.command("import-compressai")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--arch", required=True, metavar="NAME",
              help=f"CompressAI architecture: {', '.join(ARCHS)} (bls2017 is accepted for bmshj2018-factorized).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output licodec weights file (.safetensors).")
@click.option("--lambda", "lmbda", type=float, default=None,
              help="λ the checkpoint was trained for (recorded; used only for fine-tuning). Default 0.013.")
def import_compressai(checkpoint, arch, output, lmbda):
    """Convert a CompressAI CHECKPOINT (.pth/.pth.tar or .safetensors state dict) to licodec weights.

    Torch files are read with torch.load(weights_only=True), which rebuilds only tensors and
    plain containers: a file that needs anything else is refused, never unpickled. The model
    is built with the compat="compressai" option so that it computes what CompressAI's does;
    use the result with --weights (lic compress/decompress) or licodec.models.load.
    """
    from licodec.convert.compressai import import_compressai as run

    net = run(checkpoint, arch, output, lmbda=lmbda)
    params = sum(p.numel() for p in net.parameters())
    click.echo(f"{Path(output)}: {net.name} (N={net.N}, M={net.M}, compat=compressai), "
               f"{params / 1e6:.2f} M parameters, from {Path(checkpoint).name}")


COMMANDS = [import_compressai]
