//! The tutorial's Python implementation, for comparison: its four files are taken from the
//! tutorial's Markdown as published, and run from a throwaway virtualenv with `temporalio` and
//! `fastmcp` inside the bench's work directory.
//!
//! One change is made to them: the hard-coded `localhost:7233` reads `TEMPORAL_ADDRESS` instead,
//! so that they can reach the benchmark's own dev server.

use anyhow::Context;
use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// The files, keyed by a line that only that file's code block contains.
const FILES: [(&str, &str); 4] = [
    ("activities.py", "async def process_payment"),
    ("workflow.py", "class InvoiceWorkflow"),
    ("invoice_server.py", "FastMCP(\"invoice-processor\")"),
    ("worker.py", "Worker started"),
];

pub struct Tutorial {
    dir: PathBuf,
    python: PathBuf,
}

/// `../shared/reference/temporal-mcp-hitl-tutorial.md` beside this repository.
pub fn default_tutorial_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/temporal-mcp-hitl-tutorial.md")
}

impl Tutorial {
    pub fn prepare(markdown: &Path, work: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(markdown)
            .with_context(|| format!("reading {}", markdown.display()))?;
        let blocks: Vec<&str> = text
            .split("```python\n")
            .skip(1)
            .filter_map(|rest| rest.split("```").next())
            .collect();
        let dir = work.join("tutorial");
        std::fs::create_dir_all(&dir)?;
        for (file, marker) in FILES {
            // The last block with the marker is the complete file (earlier ones are excerpts).
            let code = blocks
                .iter()
                .rev()
                .find(|block| block.contains(marker) && block.contains("import"))
                .with_context(|| format!("no code block for {file} in {}", markdown.display()))?;
            let code = code.replace(
                "Client.connect(\"localhost:7233\")",
                "Client.connect(__import__(\"os\").environ[\"TEMPORAL_ADDRESS\"])",
            );
            std::fs::write(dir.join(file), code)?;
        }

        let venv = work.join("py-venv");
        let python = venv.join("bin/python");
        if !python.exists() {
            eprintln!(
                "bench: installing temporalio and fastmcp into {}",
                venv.display()
            );
            run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
            run(Command::new(&python).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "temporalio",
                "fastmcp",
            ]))?;
        }
        Ok(Self { dir, python })
    }

    pub fn worker_command(&self, address: &str) -> Command {
        self.command("worker.py", address)
    }

    pub fn server_command(&self, address: &str) -> Command {
        self.command("invoice_server.py", address)
    }

    fn command(&self, file: &str, address: &str) -> Command {
        let mut command = Command::new(&self.python);
        command
            .arg(file)
            .current_dir(&self.dir)
            .env("TEMPORAL_ADDRESS", address)
            .env("PYTHONUNBUFFERED", "1");
        command
    }
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    anyhow::ensure!(status.success(), "{command:?} failed with {status}");
    Ok(())
}
