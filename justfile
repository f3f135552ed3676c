# Recipes for working on the invoice approval system. `just` with no argument lists them.
# The two front-door commands (scripts/up, scripts/test) install `just` and the Temporal CLI
# into .tools/ when they are missing; afterwards `source scripts/tools.sh` puts them on PATH.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Where the dev server keeps its state, so invoices survive a restart.
db := ".data/temporal.db"

default:
    @just --list

# The main job: dev server + worker + release mcp-server, then the Claude Desktop settings.
up:
    scripts/up

# Build everything, then run every test (unit, replay, end to end).
test:
    cargo build --workspace --all-targets
    cargo test --workspace 2>&1 | tee target/test-output.log
    @awk '/^test result:/ { passed += $4; failed += $6 } END { printf "all tests: %d passed, %d failed\n", passed, failed }' target/test-output.log

# The full soak: 200 invoices, random decisions, random worker kills (SOAK_SEED to replay).
soak count="200":
    cargo build --workspace --all-targets
    SOAK_INVOICES={{count}} cargo test --workspace --test e2e soak -- --nocapture

# The property test over every tool's arguments, for longer (FUZZ_SEED replays a run).
fuzz cases="2000":
    cargo build --workspace --all-targets
    FUZZ_CASES={{cases}} FUZZ_SEED="${FUZZ_SEED:-$RANDOM$RANDOM}" cargo test --workspace --test e2e fuzz -- --nocapture

# Re-record the replay histories in tests/histories from fresh end-to-end runs.
record-histories:
    cargo build --workspace --all-targets
    RECORD_HISTORIES=1 cargo test --workspace --test e2e -- lifecycle payments

# The Temporal dev server with the Web UI on localhost:8233, state in .data/.
server:
    mkdir -p .data
    temporal server start-dev --db-filename {{db}} \
        --search-attribute InvoiceState=Keyword \
        --search-attribute InvoiceApprovalDeadline=Datetime \
        --search-attribute InvoiceDecidedBy=Keyword

# The worker (debug build), beside `just server`.
worker:
    cargo run -p worker

# The approval inbox on http://127.0.0.1:8234 (debug build), beside `just server` and `just worker`.
inbox:
    cargo run -p approvals

# The MCP server on stdio (release build), as Claude Desktop runs it.
mcp:
    cargo build --release --workspace --bins
    ./target/release/mcp-server

# A scripted session through a real MCP client: process, status, list what awaits approval, approve, status.
demo:
    cargo build --release --workspace --bins --examples
    target/release/examples/demo target/release/mcp-server

# The MCP Inspector (from npm) against the release mcp-server, in your browser.
inspect:
    cargo build --release --workspace --bins
    npx -y @modelcontextprotocol/inspector ./target/release/mcp-server

# Add this server to Claude Desktop's config (macOS, Windows, Linux), keeping other servers.
claude-config:
    cargo build --release --workspace --bins
    python3 scripts/claude_config.py

# Benchmark against the tutorial's Python implementation and the raw client; writes docs/benchmarks.md.
bench *args="--out docs/benchmarks.md":
    cargo build --release --workspace --bins
    target/release/bench {{args}}

# Format the code.
fmt:
    cargo fmt --all

# Check formatting and lints.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
