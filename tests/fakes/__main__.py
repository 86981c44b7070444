"""`python -m tests.fakes [--mb-rate N] [--world sample|listening]`: serve a world until Ctrl-C.

``listening`` is the README's --lastfm-user example (user 'rj')."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json

from tests.fakes.server import FakeServices
from tests.fakes.world import World


async def serve(args) -> None:
    rates = {"musicbrainz": args.mb_rate, "lastfm": args.lastfm_rate, "claude": args.claude_rate}
    world = World.listening_demo() if args.world == "listening" else World.sample()
    async with FakeServices(world, rates=rates) as fakes:
        print(json.dumps({"urls": fakes.urls, "env": fakes.env()}, indent=2))
        print("# config:\n" + fakes.config_toml(), flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb-rate", type=float, default=1.0)
    parser.add_argument("--lastfm-rate", type=float, default=5.0)
    parser.add_argument("--claude-rate", type=float, default=None)
    parser.add_argument("--world", choices=("sample", "listening"), default="sample")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
