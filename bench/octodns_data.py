"""octoDNS input for the same size: N A records in a YamlProvider zone, `changed`% differing."""

from __future__ import annotations

import os
import sys


def main(out_dir: str, n: int, changed_percent: int) -> None:
    every = max(1, round(100 / changed_percent))
    for side in ("src", "dst"):
        os.makedirs(f"{out_dir}/{side}", exist_ok=True)
        with open(f"{out_dir}/{side}/example.com.yaml", "w") as handle:
            handle.write("---\n")
            for i in range(n):
                last = 2 if side == "src" and i % every == 0 else 1
                handle.write(f"host{i}:\n  type: A\n  value: 10.{i // 65536 % 256}.{i // 256 % 256}"
                             f".{last}\n")
    with open(f"{out_dir}/config.yaml", "w") as handle:
        handle.write(f"""---
providers:
  src:
    class: octodns.provider.yaml.YamlProvider
    directory: {out_dir}/src
  dst:
    class: octodns.provider.yaml.YamlProvider
    directory: {out_dir}/dst
zones:
  example.com.:
    sources: [src]
    targets: [dst]
""")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
