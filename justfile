# Recipes for working on the invoice approval system. `just` with no argument lists them.
# The two front-door commands (scripts/up, scripts/test) install `just` and the Temporal CLI
# into .tools/ when they are missing; afterwards `source scripts/tools.sh` puts them on PATH.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Where the dev server keeps its state, so invoices survive a restart.
db := ".data/temporal.db"

default:
    @just --list

# Build everything, then run every test (unit, replay, end to end).
test:
    cargo build --workspace --all-targets
    cargo test --workspace

# Re-record the replay histories in tests/histories from fresh end-to-end runs.
record-histories:
    cargo build --workspace --all-targets
    RECORD_HISTORIES=1 cargo test --workspace --test e2e lifecycle

# The Temporal dev server with the Web UI on localhost:8233, state in .data/.
server:
    mkdir -p .data
    temporal server start-dev --db-filename {{db}}

# The worker (debug build), beside `just server`.
worker:
    cargo run -p worker

# The MCP server on stdio (release build), as Claude Desktop runs it.
mcp:
    cargo build --release -p mcp-server
    ./target/release/mcp-server

# Format the code.
fmt:
    cargo fmt --all

# Check formatting and lints.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
