#!/usr/bin/env python3
"""Adds the invoice MCP server to Claude Desktop's configuration.

Finds claude_desktop_config.json for this OS (macOS, Windows, Linux), keeps a timestamped
backup of it, and sets the "invoice-processor" entry under "mcpServers" to this checkout's
quick build. Other servers in the file are left exactly as they were; running it again
updates our entry instead of adding a second one.

Usage: scripts/claude_config.py [--config PATH] [--binary PATH]
Environment: TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE are written into the entry's "env" block
(defaults: localhost:7233, default). Nothing else is: the server's own defaults (the approval
timeout and the rest, `mcp-server --help`) stay where the binary defines them.
"""

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

SERVER_NAME = "invoice-processor"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_config_path() -> Path:
    system = platform.system()
    if system == "Darwin":
        return Path.home() / "Library/Application Support/Claude/claude_desktop_config.json"
    if system == "Windows":
        appdata = os.environ.get("APPDATA", str(Path.home() / "AppData/Roaming"))
        return Path(appdata) / "Claude/claude_desktop_config.json"
    config_home = os.environ.get("XDG_CONFIG_HOME", str(Path.home() / ".config"))
    return Path(config_home) / "Claude/claude_desktop_config.json"


def default_binary() -> Path:
    name = "mcp-server.exe" if platform.system() == "Windows" else "mcp-server"
    return PROJECT_ROOT / "target" / "quick" / name


def server_entry(binary: Path) -> dict:
    return {
        "command": str(binary),
        "env": {
            "TEMPORAL_ADDRESS": os.environ.get("TEMPORAL_ADDRESS", "localhost:7233"),
            "TEMPORAL_NAMESPACE": os.environ.get("TEMPORAL_NAMESPACE", "default"),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=default_config_path())
    parser.add_argument("--binary", type=Path, default=default_binary())
    args = parser.parse_args()

    if not args.binary.exists():
        print(f"warning: {args.binary} does not exist yet; build it with "
              "`cargo build --profile quick -p mcp-server` (scripts/up does)", file=sys.stderr)

    config = {}
    if args.config.exists():
        text = args.config.read_text(encoding="utf-8")
        try:
            config = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as error:
            print(f"error: {args.config} is not valid JSON ({error}); fix or move it first",
                  file=sys.stderr)
            return 1
        if not isinstance(config, dict):
            print(f"error: {args.config} does not hold a JSON object", file=sys.stderr)
            return 1
        backup = args.config.with_name(f"{args.config.name}.{time.strftime('%Y%m%d-%H%M%S')}.bak")
        shutil.copy2(args.config, backup)
        print(f"Backed up {args.config} to {backup}")

    servers = config.setdefault("mcpServers", {})
    if not isinstance(servers, dict):
        print(f"error: \"mcpServers\" in {args.config} is not an object", file=sys.stderr)
        return 1
    action = "Updated" if SERVER_NAME in servers else "Added"
    servers[SERVER_NAME] = server_entry(args.binary.resolve())

    args.config.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.config.with_name(args.config.name + ".tmp")
    temporary.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, args.config)
    others = sorted(name for name in servers if name != SERVER_NAME)
    print(f"{action} \"{SERVER_NAME}\" in {args.config}"
          + (f" (kept: {', '.join(others)})" if others else ""))
    print("Quit Claude Desktop completely and open it again to load it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
