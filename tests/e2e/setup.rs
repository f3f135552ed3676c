//! The newcomer's path: the Claude Desktop configuration helper, the shipped config file, and
//! the scripts themselves: scripts/up's watch over what it starts (scripts/lib/supervise.sh, run
//! for real, and scripts/up run against stand-ins), on bash 3.2 as on a Mac.

use serde_json::{Value, json};
use std::{
    fs::File,
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// What the helper writes when nothing in the environment says otherwise: where Temporal is,
/// and nothing the server defaults itself (the approval timeout: `mcp-server --help`).
fn default_env() -> Value {
    json!({"TEMPORAL_ADDRESS": "localhost:7233", "TEMPORAL_NAMESPACE": "default"})
}

fn run_claude_config(config: &Path) -> String {
    run_claude_config_with(config, &[])
}

fn run_claude_config_with(config: &Path, env: &[(&str, &str)]) -> String {
    let output = Command::new("python3")
        .arg(Path::new(ROOT).join("scripts/claude_config.py"))
        .arg("--config")
        .arg(config)
        .args(["--binary", "/opt/invoice/target/quick/mcp-server"])
        .env_remove("TEMPORAL_ADDRESS")
        .env_remove("TEMPORAL_NAMESPACE")
        .env_remove("INVOICE_APPROVAL_TIMEOUT")
        .envs(env.iter().copied())
        .output()
        .expect("python3 runs scripts/claude_config.py");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn claude_config_keeps_other_servers_and_adds_ours_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("claude_desktop_config.json");
    let weather = json!({"command": "uv", "args": ["run", "weather.py"]});
    let original = json!({"mcpServers": {"weather": weather}, "globalShortcut": "Ctrl+Space"});
    std::fs::write(&config, original.to_string()).unwrap();

    assert!(run_claude_config(&config).contains("Added \"invoice-processor\""));
    assert!(run_claude_config(&config).contains("Updated \"invoice-processor\""));

    let merged: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    let servers = merged["mcpServers"].as_object().unwrap();
    assert_eq!(servers.len(), 2, "{merged}");
    assert_eq!(servers["weather"], weather);
    assert_eq!(merged["globalShortcut"], "Ctrl+Space");
    let ours = &servers["invoice-processor"];
    assert_eq!(ours["command"], "/opt/invoice/target/quick/mcp-server");
    assert_eq!(ours["env"], default_env(), "{merged}");

    let backups = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".bak")
        })
        .count();
    assert!(backups >= 1, "a backup is kept");
}

#[test]
fn claude_config_creates_a_missing_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("Claude/claude_desktop_config.json");
    run_claude_config(&config);
    let created: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(
        created["mcpServers"]["invoice-processor"]["command"],
        "/opt/invoice/target/quick/mcp-server"
    );
}

#[test]
fn claude_config_takes_temporal_from_the_environment_and_no_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("claude_desktop_config.json");
    // An entry written by an older helper, which pinned the approval timeout.
    let old = json!({"mcpServers": {"invoice-processor": {
        "command": "/old/mcp-server",
        "env": {"TEMPORAL_ADDRESS": "localhost:7233", "INVOICE_APPROVAL_TIMEOUT": "5d"}
    }}});
    std::fs::write(&config, old.to_string()).unwrap();
    let env = [
        ("TEMPORAL_ADDRESS", "temporal.internal:7233"),
        ("TEMPORAL_NAMESPACE", "invoices"),
        // Set where the helper runs, it is still not pinned: the binary reads it itself.
        ("INVOICE_APPROVAL_TIMEOUT", "30s"),
    ];
    assert!(run_claude_config_with(&config, &env).contains("Updated \"invoice-processor\""));
    let updated: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    let ours = &updated["mcpServers"]["invoice-processor"];
    assert_eq!(ours["command"], "/opt/invoice/target/quick/mcp-server");
    assert_eq!(
        ours["env"],
        json!({"TEMPORAL_ADDRESS": "temporal.internal:7233", "TEMPORAL_NAMESPACE": "invoices"}),
        "{updated}"
    );
}

#[test]
fn the_shipped_claude_desktop_config_runs_the_quick_build() {
    let text = std::fs::read_to_string(Path::new(ROOT).join("claude_desktop_config.json")).unwrap();
    let config: Value = serde_json::from_str(&text).expect("valid JSON");
    let server = &config["mcpServers"]["invoice-processor"];
    assert!(
        server["command"]
            .as_str()
            .unwrap()
            .ends_with("target/quick/mcp-server"),
        "{server}"
    );
    // Where Temporal is, and no default of the server's own pinned here.
    assert_eq!(server["env"], default_env(), "{server}");
    // The approval timeout's default lives in the binary, which says so.
    let output = Command::new(harness::binary("mcp-server"))
        .arg("--help")
        .env_remove("INVOICE_APPROVAL_TIMEOUT")
        .output()
        .expect("run mcp-server --help");
    assert!(output.status.success(), "{output:?}");
    let help = String::from_utf8_lossy(&output.stdout);
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("[env: INVOICE_APPROVAL_TIMEOUT=] [default: 5d]"),
        "{help}"
    );
}

#[test]
fn the_benchmark_runs_in_smoke_mode() {
    // Keeps `just bench` from rotting: a tiny run, Rust only, against its own dev server.
    let output = Command::new(harness::binary("bench"))
        .arg("--smoke")
        .output()
        .expect("run bench --smoke");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(report.contains("**Smoke run"), "{report}");
    for row in [
        "cold start",
        "`get_invoice_status` p50",
        "floor: raw query",
        "floor: raw Update decide p50",
        "`approve_invoice` p50 over the raw `decide` Update p50: **",
        "recovery",
        "the MCP server's own data (RssAnon)",
        "invoices: until all await approval",
    ] {
        assert!(report.contains(row), "no {row} row in {report}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_session_runs_as_the_readme_shows() {
    // `just demo` against a server of our own: the README quotes this session.
    let server = harness::DevServer::start().await;
    let _worker = harness::WorkerProcess::start(&server);
    let output = tokio::process::Command::new(harness::binary("examples/demo"))
        .arg(harness::binary("mcp-server"))
        .envs(server.env())
        .output()
        .await
        .expect("run the demo");
    let transcript = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    for line in [
        "Connected to invoice-processor",
        "\"state\": \"awaiting_approval\"",
        "\"total\": \"$7,000.00\"",
        "Invoices in state awaiting_approval, newest first:",
        "· awaiting_approval · 2 lines · $7,000.00 · decide by",
        "status: Approved and finalized",
        ": matches the purchase order.",
        "\"via\": \"invoice-demo\"",
    ] {
        assert!(transcript.contains(line), "no {line:?} in {transcript}");
    }
}

// The scripts. scripts/up must run on bash 3.2, macOS's /bin/bash: set INVOICE_TEST_BASH to
// such a bash to run these tests under it (they use `bash` on PATH otherwise).

/// The bash the script tests run: `INVOICE_TEST_BASH`, else `bash` on PATH.
fn bash() -> String {
    std::env::var("INVOICE_TEST_BASH")
        .ok()
        .filter(|bash| !bash.is_empty())
        .unwrap_or_else(|| "bash".to_owned())
}

/// Generous bound for a script's step that takes well under a second.
const SCRIPT_STEP: Duration = Duration::from_secs(20);

/// Waits until `done` holds, checking every 20 ms; fails the test after [`SCRIPT_STEP`].
#[track_caller]
fn await_that(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + SCRIPT_STEP;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {SCRIPT_STEP:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pid a process wrote to `file`, once the file is there.
#[track_caller]
fn pid_in(file: &Path) -> i32 {
    await_that(&format!("{} appears", file.display()), || file.exists());
    let text = std::fs::read_to_string(file).unwrap();
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}: {text:?}", file.display()))
}

/// Whether no process has this pid (any longer).
fn gone(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) != 0 }
}

/// A script under test, in a process group of its own as a terminal's foreground job is (so a
/// Ctrl-C can reach the whole group), its output (stdout and stderr) in a file.
struct Script {
    child: Child,
    output: PathBuf,
}

impl Script {
    fn start(mut command: Command, output: PathBuf) -> Self {
        let log = File::create(&output).expect("the script's output file");
        // A terminal's job starts with Ctrl-C and SIGTERM handled by default. Whatever ran the
        // tests may ignore them (a background job, nohup), and bash cannot trap a signal that
        // was ignored when it started, so the script starts as a terminal's job would.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                    libc::signal(signal, libc::SIG_DFL);
                }
                Ok(())
            });
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the script's output file"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bash()));
        Script { child, output }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// What the script printed so far.
    fn output(&self) -> String {
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }

    /// Ctrl-C in the script's terminal: SIGINT to its whole process group.
    fn ctrl_c(&self) {
        // SAFETY: a plain kill(2) on the group this test made.
        assert_eq!(unsafe { libc::kill(-self.pid(), libc::SIGINT) }, 0);
    }

    /// A signal to the script alone.
    fn signal(&self, signal: i32) {
        // SAFETY: a plain kill(2) on the child this test started.
        assert_eq!(unsafe { libc::kill(self.pid(), signal) }, 0);
    }

    /// Waits for the script to end; answers its exit code and everything it printed.
    fn finish(&mut self) -> (i32, String) {
        let mut status = None;
        await_that("the script ends", || {
            status = self.child.try_wait().expect("the script's status");
            status.is_some()
        });
        let output = self.output();
        let code = status
            .unwrap()
            .code()
            .unwrap_or_else(|| panic!("the script was killed: {output}"));
        (code, output)
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        // A test that failed half-way leaves nothing behind: the script and all it started.
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: a plain kill(2) on the group this test made.
            unsafe { libc::kill(-self.pid(), libc::SIGKILL) };
            let _ = self.child.wait();
        }
    }
}

/// Asserts that the lines saying each was stopped come in this order, and that each is there.
#[track_caller]
fn assert_stopped_in_order(output: &str, stopped: &[(&str, i32)]) {
    let mut last = 0;
    for (name, pid) in stopped {
        let line = format!("  stopped {name} (pid {pid};");
        let at = output
            .find(&line)
            .unwrap_or_else(|| panic!("no {line:?} in:\n{output}"));
        assert!(
            at >= last,
            "{name} stopped out of order (newest first):\n{output}"
        );
        last = at;
        assert!(gone(*pid), "{name} (pid {pid}) still runs:\n{output}");
    }
}

/// scripts/lib/supervise.sh watching processes started by tests/scripts/supervised.sh, each
/// `NAME[:MODE]` of `specs` (see that script), in a fresh directory.
fn supervised(specs: &[&str], env: &[(&str, &str)]) -> (Script, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(bash());
    command
        .arg(Path::new(ROOT).join("tests/scripts/supervised.sh"))
        .arg(dir.path())
        .args(specs)
        .envs(env.iter().copied());
    let script = Script::start(command, dir.path().join("output.log"));
    let watching = dir.path().join("watching");
    await_that("supervised.sh watches", || {
        watching.exists() || script.output().contains("supervised.sh")
    });
    assert!(watching.exists(), "{}", script.output());
    (script, dir)
}

#[test]
fn supervise_stops_the_rest_newest_first_when_a_process_exits_by_itself() {
    let (mut script, dir) = supervised(&["server", "worker:exit=3", "inbox"], &[]);
    let pid = |name: &str| pid_in(&dir.path().join(format!("{name}.pid")));
    let (server, worker, inbox) = (pid("server"), pid("worker"), pid("inbox"));

    std::fs::write(dir.path().join("worker.go"), "").unwrap();
    let (code, output) = script.finish();

    assert_eq!(
        code, 1,
        "a process that dies by itself fails the run:\n{output}"
    );
    assert!(
        output.contains(&format!(
            "worker (pid {worker}) exited by itself (status 3): supervised.sh stops the rest."
        )),
        "{output}"
    );
    assert_stopped_in_order(&output, &[("inbox", inbox), ("server", server)]);
    assert!(!output.contains("stopped worker"), "{output}");
    assert!(gone(worker));
    assert!(
        output.trim_end().ends_with("Stopped everything."),
        "{output}"
    );
}

#[test]
fn supervise_stops_everything_newest_first_on_ctrl_c() {
    // The worker handles Ctrl-C as the real one does: it must not hear the terminal's, or it
    // would race the script to the exit instead of being stopped in turn.
    let (mut script, dir) = supervised(&["server", "worker:catches-int", "inbox"], &[]);
    let pid = |name: &str| pid_in(&dir.path().join(format!("{name}.pid")));
    let (server, worker, inbox) = (pid("server"), pid("worker"), pid("inbox"));

    script.ctrl_c();
    let (code, output) = script.finish();

    assert_eq!(code, 130, "{output}");
    assert!(
        output.contains("supervised.sh got SIGINT: stopping everything it started."),
        "{output}"
    );
    assert_stopped_in_order(
        &output,
        &[("inbox", inbox), ("worker", worker), ("server", server)],
    );
    // Stopped in turn by the script's SIGTERM, never by the terminal's Ctrl-C.
    assert!(
        output.contains(&format!(
            "  stopped worker (pid {worker}; status 143, SIGTERM)"
        )),
        "{output}"
    );
    assert!(!output.contains("exited by itself"), "{output}");
}

#[test]
fn supervise_kills_what_ignores_sigterm_after_the_grace_period() {
    let (mut script, dir) = supervised(
        &["server", "stubborn:stubborn", "inbox"],
        &[("SUPERVISE_GRACE", "1")],
    );
    let pid = |name: &str| pid_in(&dir.path().join(format!("{name}.pid")));
    let (server, stubborn, inbox) = (pid("server"), pid("stubborn"), pid("inbox"));

    script.signal(libc::SIGTERM);
    let (code, output) = script.finish();

    assert_eq!(code, 143, "{output}");
    assert!(output.contains("supervised.sh got SIGTERM"), "{output}");
    assert!(
        output.contains(&format!(
            "stubborn (pid {stubborn}) did not stop within 1 s of SIGTERM: killing it"
        )),
        "{output}"
    );
    assert!(
        output.contains(&format!(
            "stopped stubborn (pid {stubborn}; status 137, SIGKILL)"
        )),
        "{output}"
    );
    assert_stopped_in_order(
        &output,
        &[("inbox", inbox), ("stubborn", stubborn), ("server", server)],
    );
}

/// scripts/up in a copy of the scripts, with stand-ins for cargo, just, the Temporal CLI (its
/// dev server answers once started) and the quick builds of the worker and the inbox: it runs
/// as on a fresh machine, and no port is opened. Each stand-in writes `stub/NAME.pid`, then
/// exits by itself with status 3 once `stub/NAME.go` exists.
fn scripts_up() -> (Script, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = root.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    for script in ["scripts/up", "scripts/tools.sh", "scripts/lib/supervise.sh"] {
        write(
            script,
            &std::fs::read_to_string(Path::new(ROOT).join(script)).unwrap(),
        );
    }
    let stand_in = |name: &str| {
        format!(
            "#!/bin/sh\n\
             echo $$ >\"$STUB_DIR/{name}.pid.tmp\" && mv \"$STUB_DIR/{name}.pid.tmp\" \"$STUB_DIR/{name}.pid\"\n\
             while [ ! -e \"$STUB_DIR/{name}.go\" ]; do sleep 0.02; done\n\
             exit 3\n"
        )
    };
    write("target/quick/worker", &stand_in("worker"));
    write("target/quick/approvals", &stand_in("approvals"));
    write("stub/temporal-server", &stand_in("temporal"));
    write(
        "bin/temporal",
        "#!/bin/sh\n\
         case \"$1 $2\" in\n\
         \"operator cluster\") test -e \"$STUB_DIR/temporal.pid\" ;;\n\
         \"server start-dev\") exec \"$STUB_DIR/temporal-server\" ;;\n\
         *) echo \"temporal stand-in: $*\" >&2; exit 2 ;;\n\
         esac\n",
    );
    write("bin/cargo", "#!/bin/sh\nexit 0\n");
    write("bin/just", "#!/bin/sh\nexit 0\n");

    let path = format!(
        "{}:{}",
        root.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new(bash());
    command
        .arg(root.path().join("scripts/up"))
        .current_dir(root.path())
        .env("PATH", path)
        .env("STUB_DIR", root.path().join("stub"))
        .env_remove("TEMPORAL_ADDRESS")
        .env_remove("INVOICE_METRICS_ADDR")
        .env_remove("INVOICE_INBOX_ADDR");
    let script = Script::start(command, root.path().join("up.log"));
    await_that("scripts/up is ready", || {
        script.output().contains("Press Ctrl-C to stop.") || script.output().contains("Stopped.")
    });
    (script, root)
}

/// The `mcpServers` JSON that scripts/up printed.
fn printed_claude_config(output: &str) -> Value {
    let start = output.find("\n{\n").expect("a JSON block") + 1;
    let end = start + output[start..].find("\n}\n").expect("the JSON block's end") + 2;
    serde_json::from_str(&output[start..end]).unwrap_or_else(|e| panic!("{e}: {output}"))
}

#[test]
fn scripts_up_runs_until_ctrl_c_then_stops_everything_newest_first() {
    let (mut script, root) = scripts_up();
    let pid = |name: &str| pid_in(&root.path().join(format!("stub/{name}.pid")));
    let (temporal, worker, inbox) = (pid("temporal"), pid("worker"), pid("approvals"));
    let ready = script.output();
    assert!(
        !ready.contains("Stopped."),
        "scripts/up stopped on its own after Ready:\n{ready}"
    );
    assert!(
        ready.contains("==> Starting the Temporal dev server"),
        "{ready}"
    );
    let mcp = root.path().join("target/quick/mcp-server");
    assert_eq!(
        printed_claude_config(&ready),
        json!({"mcpServers": {"invoice-processor": {
            "command": mcp.to_str().unwrap(),
            "env": default_env(),
        }}})
    );

    script.ctrl_c();
    let (code, output) = script.finish();

    assert_eq!(code, 130, "{output}");
    assert!(
        output.contains("scripts/up got SIGINT: stopping everything it started."),
        "{output}"
    );
    assert_stopped_in_order(
        &output,
        &[
            ("the approval inbox", inbox),
            ("the worker", worker),
            ("the Temporal dev server", temporal),
        ],
    );
    assert!(
        output
            .trim_end()
            .ends_with("Stopped. Invoices are kept in .data/; run scripts/up again to carry on."),
        "{output}"
    );
}

#[test]
fn scripts_up_stops_the_rest_when_a_process_exits_by_itself() {
    let (mut script, root) = scripts_up();
    let pid = |name: &str| pid_in(&root.path().join(format!("stub/{name}.pid")));
    let (temporal, worker, inbox) = (pid("temporal"), pid("worker"), pid("approvals"));

    std::fs::write(root.path().join("stub/approvals.go"), "").unwrap();
    let (code, output) = script.finish();

    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains(&format!(
            "the approval inbox (pid {inbox}) exited by itself (status 3): scripts/up stops the rest."
        )),
        "{output}"
    );
    assert!(gone(inbox));
    assert_stopped_in_order(
        &output,
        &[
            ("the worker", worker),
            ("the Temporal dev server", temporal),
        ],
    );
}

/// Every shell script the project runs, and the justfile (whose recipes bash runs).
fn shell_scripts() -> Vec<PathBuf> {
    let root = Path::new(ROOT);
    let mut scripts = vec![
        root.join("scripts/up"),
        root.join("scripts/test"),
        root.join(".ci/run"),
    ];
    for dir in ["scripts", "scripts/lib", "tests/scripts"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|extension| extension == "sh"))
            .collect();
        found.sort();
        scripts.extend(found);
    }
    scripts
}

#[test]
fn the_scripts_use_nothing_newer_than_bash_3_2() {
    // macOS's /bin/bash is 3.2: none of what came with bash 4 and later. A tripwire, beside
    // shellcheck (`just lint`) and the tests above run under a bash 3.2 (INVOICE_TEST_BASH).
    let newer = [
        "wait -n",
        "wait -f",
        "wait -p",
        "declare -A",
        "local -A",
        "typeset -A",
        "declare -n",
        "local -n",
        "typeset -n",
        "declare -g",
        "declare -l",
        "declare -u",
        "local -l",
        "local -u",
        "mapfile",
        "readarray",
        "coproc",
        "|&",
        "&>>",
        ",,}",
        ",}",
        "^^}",
        "^}",
        "@Q}",
        "@E}",
        "@P}",
        "@A}",
        "@a}",
        "@U}",
        "@u}",
        "@L}",
        "@K}",
        ";;&",
        "[[ -v ",
        "[ -v ",
        "test -v ",
        "BASHPID",
        "EPOCHSECONDS",
        "EPOCHREALTIME",
        "globstar",
        "lastpipe",
        "inherit_errexit",
        "read -i",
        "read -N",
        "exec {",
        "printf '%(",
        "printf \"%(",
    ];
    let mut files = shell_scripts();
    files.push(Path::new(ROOT).join("justfile"));
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with('#') {
                continue;
            }
            for construct in newer {
                if code.contains(construct) {
                    found.push(format!(
                        "{}:{}: {construct}: {line}",
                        file.display(),
                        number + 1
                    ));
                }
            }
            // Negative array subscripts, ${a[-1]} (bash 4.3).
            if code.contains("[-")
                && code
                    .split("[-")
                    .skip(1)
                    .any(|rest| rest.starts_with(|c: char| c.is_ascii_digit() || c == '$'))
            {
                found.push(format!("{}:{}: [-N]: {line}", file.display(), number + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "newer than bash 3.2:\n{}",
        found.join("\n")
    );

    for script in shell_scripts() {
        let output = Command::new(bash())
            .arg("-n")
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bash()));
        assert!(
            output.status.success(),
            "{} -n {}: {}",
            bash(),
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
