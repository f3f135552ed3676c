# Recipes for working on the invoice approval system. `just` with no argument lists them.
# The two front-door commands (scripts/up, scripts/test) install `just` and the Temporal CLI
# into .tools/ when they are missing; afterwards `source scripts/tools.sh` puts them on PATH.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Where the dev server keeps its state, so invoices survive a restart.
db := ".data/temporal.db"
# The quick build of the three programs people run, always built alike so that no recipe
# rebuilds what another one built (scripts/up builds the same).
build-services := "cargo build --profile quick -p worker -p approvals -p mcp-server"

default:
    @just --list

# The main job: dev server + worker + inbox + mcp-server, then the Claude Desktop settings.
up:
    scripts/up

# Tests run at once in each test binary: the end-to-end ones mostly wait on Temporal, and share
# one dev server (a namespace each), so more of them than cores keep both busy.
test-threads := "8"

# Build everything, then run every test (unit, replay, end to end).
test:
    cargo build --workspace --all-targets
    cargo test --workspace -- --test-threads {{test-threads}} 2>&1 | tee target/test-output.log
    @awk '/^test result:/ { passed += $4; failed += $6 } END { printf "all tests: %d passed, %d failed\n", passed, failed }' target/test-output.log

# What scripts/test and CI run: formatting, shellcheck, clippy and every test, compiling once.
check: shellcheck
    #!/usr/bin/env bash
    set -euo pipefail
    cargo fmt --all --check
    # The workspace is built with clippy's driver wrapping rustc for its own crates, so the
    # lints (warnings denied) come with the build instead of a second compilation of everything.
    driver=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver || true)
    if [ -z "$driver" ]; then
      echo "note: no clippy-driver on this toolchain; linting in a compilation of its own" >&2
      cargo clippy --workspace --all-targets -- -D warnings
    else
      export RUSTC_WORKSPACE_WRAPPER="$driver" CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
    fi
    cargo build --workspace --all-targets
    cargo test --workspace -- --test-threads {{test-threads}} 2>&1 | tee target/test-output.log
    awk '/^test result:/ { passed += $4; failed += $6 } END { printf "all tests: %d passed, %d failed\n", passed, failed }' target/test-output.log

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
    RECORD_HISTORIES=1 cargo test --workspace --test e2e -- lifecycle payments money

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

# The MCP server on stdio (the quick build), as Claude Desktop runs it.
mcp:
    {{build-services}}
    ./target/quick/mcp-server

# A scripted session through a real MCP client: process, status, list what awaits approval, approve, status.
demo:
    {{build-services}} --example demo
    target/quick/examples/demo target/quick/mcp-server

# The MCP Inspector (from npm) against mcp-server, in your browser.
inspect:
    {{build-services}}
    npx -y @modelcontextprotocol/inspector ./target/quick/mcp-server

# Add this server to Claude Desktop's config (macOS, Windows, Linux), keeping other servers.
claude-config:
    {{build-services}}
    python3 scripts/claude_config.py

# Benchmark against the tutorial's Python implementation and the raw client; writes docs/benchmarks.md.
# Measures the `dist` build (fat LTO), as packaged binaries are built: the first build is slow.
bench *args="--out docs/benchmarks.md":
    cargo build --profile dist --workspace --bins
    target/dist/bench {{args}}

# Install the three programs, optimised, into ~/.cargo/bin, sharing one build directory
# (`just install --profile dist` for the smaller packaged build, slower to build).
install *args="":
    cargo install --locked --target-dir target {{args}} --path crates/worker
    cargo install --locked --target-dir target {{args}} --path crates/approvals
    cargo install --locked --target-dir target {{args}} --path crates/mcp-server

# Format the code.
fmt:
    cargo fmt --all

# Check formatting and lints: rustfmt, clippy (warnings denied) and shellcheck on the scripts.
lint: shellcheck
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Check the shell scripts with shellcheck (where it is missing, say how to install it; CI must have it).
shellcheck:
    #!/usr/bin/env bash
    set -euo pipefail
    if ! command -v shellcheck >/dev/null 2>&1; then
      if [ -n "${CI:-}" ]; then
        echo "error: shellcheck is missing, and CI must check the scripts (scripts/test installs it where apt-get exists)" >&2
        exit 1
      fi
      echo "note: shellcheck is not installed, so the shell scripts were not checked. Install it:" >&2
      echo "  macOS: brew install shellcheck    Debian, Ubuntu: sudo apt-get install shellcheck" >&2
      exit 0
    fi
    shellcheck --external-sources scripts/up scripts/test scripts/*.sh scripts/lib/*.sh .ci/run tests/scripts/*.sh
    echo "shellcheck: scripts/up, scripts/test, scripts/*.sh, scripts/lib/*.sh, .ci/run and tests/scripts/*.sh are clean"
